/**
 * The processor side of the 2-clicks example: emits a click for one of ten users every 100 ms
 * and counts them in the `mini-group` processor (2 worker threads). Ctrl-C stops both cleanly.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node dist/examples/two-clicks/processor.js
 */
import { Emitter, Processor, codecs, humanLogger } from '../../src/index.js';
import { CLICKS } from './group.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = humanLogger({ name: 'two-clicks' });
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());

const emitter = new Emitter({ brokers, topic: CLICKS, codec: codecs.string, ensureTopic: { partitions: 6 }, logger });
await emitter.partitions(); // creates the topic before the processor checks it
const processor = new Processor({ brokers, group: new URL('./group.js', import.meta.url), workers: 2, logger, storagePath: process.env['PARTITA_EXAMPLE_STORAGE'] });
const done = processor.run({ signal: controller.signal });

let n = 0;
const timer = setInterval(() => {
  void emitter.emit(`user-${n++ % 10}`, 'click').catch((err: Error) => logger.error({ err }, 'emit failed'));
}, 100);
controller.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
await processor.ready();
console.log('processor ready: counting clicks (Ctrl-C to stop)');
await done;
await emitter.close();
console.log('processor stopped');
