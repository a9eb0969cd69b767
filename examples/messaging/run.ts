/**
 * Runs the messaging example end to end: blocker and translator tables first, then the filter
 * (join + lookup) and the collector; sends a few messages and prints carol's inbox.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node dist/examples/messaging/run.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Emitter, Processor, codecs, humanLogger } from '../../src/index.js';
import { BLOCK, RECEIVED, SEND, TRANSLATE, type Received, type Sent } from './topics.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = humanLogger({ name: 'messaging', level: process.env['PARTITA_LOG_LEVEL'] ?? 'warn' });
const dir = mkdtempSync(join(tmpdir(), 'partita-messaging-'));
const started: { p: Processor; done: Promise<void> }[] = [];

async function run(module: string): Promise<Processor> {
  const p = new Processor({ brokers, group: new URL(module, import.meta.url), workers: 1, logger, storagePath: join(dir, module) });
  const done = p.run();
  started.push({ p, done });
  await Promise.race([p.ready(), done]);
  return p;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  const send = new Emitter({ brokers, topic: SEND, codec: codecs.json<Sent>(), ensureTopic: { partitions: 6 }, logger });
  const block = new Emitter({ brokers, topic: BLOCK, codec: codecs.json<{ block: boolean }>(), ensureTopic: { partitions: 6 }, logger });
  const translate = new Emitter({ brokers, topic: TRANSLATE, codec: codecs.string, ensureTopic: { partitions: 3 }, logger });
  const received = new Emitter({ brokers, topic: RECEIVED, codec: codecs.json<Received>(), ensureTopic: { partitions: 6 }, logger });
  // Every topic exists before a processor checks it (the filter's output, too).
  await Promise.all([send, block, translate, received].map((e) => e.partitions()));
  await received.close();

  const blocker = await run('./blocker.js');
  const translator = await run('./translator.js');
  await Promise.all([block.emit('bob', { block: true }), translate.emit('hello', 'hallo'), translate.emit('world', 'welt')]);
  await until('the blocker and translator tables', async () => (await blocker.get('bob')) === true && (await translator.get('world')) === 'welt');

  // The filter recovers its lookup table and its joined partitions before its first message.
  await run('./filter.js');
  const collector = await run('./collector.js');
  await send.emit('alice', { to: 'carol', text: 'hello world' });
  await send.emit('bob', { to: 'carol', text: 'buy cheap stuff' });
  await send.emit('dave', { to: 'carol', text: 'hello' });
  await until("carol's inbox", async () => ((await collector.get('carol')) as Received[] | undefined)?.length === 2);
  const inbox = (await collector.get('carol')) as Received[];
  for (const m of inbox) console.log(`carol ← ${m.from}: ${m.text}`);
  await Promise.all([send.close(), block.close(), translate.close()]);
  const ok = inbox.some((m) => m.from === 'alice' && m.text === 'hallo welt') && inbox.every((m) => m.from !== 'bob');
  console.log(ok ? 'messaging: ok (bob is blocked, words translated)' : 'messaging: unexpected inbox');
  process.exitCode = ok ? 0 : 1;
} finally {
  await Promise.all(started.map(({ p }) => p.stop()));
  await Promise.allSettled(started.map(({ done }) => done));
  rmSync(dir, { recursive: true, force: true });
}
