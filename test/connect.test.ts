// A broker that cannot be reached at start: a partita error naming the brokers, within
// connectTimeoutMs, for the Processor and the Emitter alike. Also the outage clock's rules.
import test from 'ava';
import net from 'node:net';
import { pino } from 'pino';
import { BrokerUnavailableError, Emitter, ErrorCodes, Processor, ProduceError, codecs } from '../src/index.js';
import { BrokerHealth } from '../src/kafka/broker-health.js';

/** A 127.0.0.1 port nobody listens on. */
async function closedPort(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return `127.0.0.1:${port}`;
}

test('Processor: no broker at start → BrokerUnavailableError naming the brokers within connectTimeoutMs', async (t) => {
  const broker = await closedPort();
  const url = new URL('./fixtures/counter.js?group=unreachable&input=nowhere', import.meta.url);
  const p = new Processor({ brokers: [broker], group: url, workers: 0, connectTimeoutMs: 2000, storage: 'memory' });
  const started = Date.now();
  const err = await t.throwsAsync(p.run(), { instanceOf: BrokerUnavailableError });
  const ms = Date.now() - started;
  t.is(err?.code, ErrorCodes.BROKER_UNAVAILABLE);
  t.deepEqual(err?.brokers, [broker]);
  t.true(err?.atStart);
  t.regex(err!.message, new RegExp(`cannot reach the Kafka brokers ${broker}`));
  t.truthy(err?.cause, 'the client error is kept as cause');
  t.true(ms >= 1900 && ms < 4000, `failed after ${ms} ms`);
  t.log(`run() rejected after ${ms} ms: ${err!.message}`);
});

test('Emitter: no broker at start → every emit rejects with ProduceError (cause BrokerUnavailableError) within connectTimeoutMs', async (t) => {
  const broker = await closedPort();
  const e = new Emitter({ brokers: [broker], topic: 'nowhere', codec: codecs.string, connectTimeoutMs: 1500 });
  const started = Date.now();
  const results = await Promise.allSettled([e.emit('a', '1'), e.emit('b', '2')]);
  const ms = Date.now() - started;
  for (const r of results) {
    t.is(r.status, 'rejected');
    const err = (r as PromiseRejectedResult).reason as ProduceError;
    t.true(err instanceof ProduceError);
    t.true(err.cause instanceof BrokerUnavailableError);
    t.regex(err.message, new RegExp(broker));
  }
  t.true(ms < 3500, `rejected after ${ms} ms`);
  await e.close();
});

test('broker health: an outage is bounded from its first failure; success resets it; before any success the connect bound applies', (t) => {
  let now = 0;
  const h = new BrokerHealth({ brokers: ['b:1'], brokerOutageMs: 10_000, connectTimeoutMs: 2000, logger: pino({ level: 'silent' }), now: () => now });
  t.is(h.remainingMs(), 2000);
  now = 1000;
  h.failed('connect', new Error('refused'));
  now = 2001;
  t.throws(() => h.failed('connect', new Error('refused')), { instanceOf: BrokerUnavailableError, message: /cannot reach/ });
  h.ok();
  t.false(h.down);
  now = 50_000;
  h.failed('produce', new Error('refused'));
  t.true(h.down);
  now = 59_999;
  t.notThrows(() => h.failed('produce', new Error('refused')));
  now = 60_001;
  const err = t.throws(() => h.failed('fetch', new Error('refused')), { instanceOf: BrokerUnavailableError });
  t.false(err?.atStart);
  t.is(err?.waitedMs, 10_001);
  h.ok();
  now = 100_000;
  t.notThrows(() => h.failed('produce', new Error('refused')), 'a new outage starts its own clock');
});
