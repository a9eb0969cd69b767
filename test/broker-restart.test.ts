// Outage harness: a private broker, killed with SIGKILL and started again, is back on the same address with its data.
// Run through `node dist/scripts/with-kafka.js ava dist/test/broker-restart.test.js` (it ignores the shared broker).
import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import kafkajs from 'kafkajs';
import { startRestartableBroker } from '../scripts/broker.js';
import { unique, waitFor } from './helpers.js';

const { Kafka, logLevel } = kafkajs;

/** 'open', or the connect error code (ECONNREFUSED when nothing listens). */
function probe(addr: string): Promise<string> {
  const [host, port] = addr.split(':');
  return new Promise((res) => {
    const s = net.connect({ host, port: Number(port) });
    s.setTimeout(2000, () => {
      s.destroy();
      res('timeout');
    });
    s.once('connect', () => {
      s.destroy();
      res('open');
    });
    s.once('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
  });
}

/** TIME_WAIT sockets on a local port (Linux only; Java listens on a dual-stack socket, so they are in tcp6): what
 *  the restarted JVM has to bind over. */
function timeWaitOn(port: number): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[1]?.endsWith(hex) && f[3] === '06').length;
  } catch {
    return undefined;
  }
}

test('a broker killed with SIGKILL comes back on the same address with its topics and records', async (t) => {
  const broker = await startRestartableBroker({ log: (line) => t.log(line) });
  t.teardown(() => broker.stop());
  const addr = broker.brokers[0]!;
  t.true(broker.isUp);

  const kafka = new Kafka({ clientId: unique('restart'), brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const topic = unique('restart');
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: unique('restart-reader'), maxWaitTimeInMs: 100 });
  let raw: net.Socket | undefined;
  const sent = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `before-${i}` }));
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const leaders = async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      return meta?.topics[0]?.partitions.filter((p) => p.leader >= 0).length === 2;
    };
    await waitFor(`${topic} to have leaders`, leaders, 30_000, 100);
    await producer.connect();
    await producer.send({ topic, messages: sent });

    // A connection open across the kill that closes after the broker's FIN leaves the broker's end in TIME_WAIT:
    // up() must bind over it.
    const [host, port] = [addr.split(':')[0]!, Number(addr.split(':')[1])];
    raw = net.connect({ host, port }).on('error', () => {}); // a reset would only fail the TIME_WAIT check below
    await waitFor('a raw connection to the broker', () => raw?.readyState === 'open', 10_000);
    let t0 = performance.now();
    await broker.down();
    const downMs = performance.now() - t0;
    t.false(broker.isUp);
    t.is(await probe(addr), 'ECONNREFUSED');
    await waitFor('the open connection to be closed by the kill', () => raw?.closed, 10_000);
    const timeWait = timeWaitOn(port);
    if (timeWait !== undefined) t.true(timeWait > 0, 'a TIME_WAIT socket on the port before up()');

    t0 = performance.now();
    await broker.up();
    const upMs = performance.now() - t0;
    t.true(broker.isUp);
    t.is(await probe(addr), 'open');
    t.log(`down() ${downMs.toFixed(0)} ms, up() ${upMs.toFixed(0)} ms (first start ${broker.timings.totalMs.toFixed(0)} ms); ` +
      `TIME_WAIT sockets on the port at up(): ${timeWait ?? 'n/a'}`);

    // The producer from before the outage reconnects to the same address.
    await producer.send({ topic, messages: [{ key: 'k5', value: 'after' }] });
    sent.push({ key: 'k5', value: 'after' });
    await waitFor(`${topic} to be listed`, async () => (await admin.listTopics()).includes(topic), 30_000, 100);
    await waitFor(`${topic} to have leaders again`, leaders, 30_000, 100);
    const offsets = await admin.fetchTopicOffsets(topic);
    t.is(offsets.reduce((n, p) => n + Number(p.high), 0), sent.length);

    const got = new Map<string, string>();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.set(message.key?.toString() ?? '', message.value?.toString() ?? '');
      },
    });
    await waitFor(`${sent.length} records read back`, () => got.size >= sent.length, 60_000, 100);
    t.deepEqual(Object.fromEntries(got), Object.fromEntries(sent.map((m) => [m.key, m.value])));
  } finally {
    raw?.destroy();
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
});
