// Broker outages, on a broker of this file's own (stopped with SIGKILL and restarted on the same
// port and data dir), so the shared broker of the other tests is not disturbed. One outage of
// OUTAGE_MS serves every scenario at once: each test sets itself up and arms; the broker goes
// down when all have armed, and comes back OUTAGE_MS later.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startRestartableBroker, type RestartableBroker } from '../scripts/broker.js';
import { BrokerUnavailableError, Emitter, ErrorCodes, Processor, ProduceError, View, codecs, type ViewState } from '../src/index.js';
import { createTopics, tempDir, unique, waitFor } from './helpers.js';
import { actors, processed } from './processor-helpers.js';

const OUTAGE_MS = 30_000;
const SCENARIOS = 4;

class Outage {
  readonly broker: Promise<RestartableBroker>;
  readonly down: Promise<number>;
  readonly up: Promise<number>;
  #armed = 0;
  #go!: () => void;

  constructor() {
    this.broker = startRestartableBroker();
    const go = new Promise<void>((r) => (this.#go = r));
    // A scenario that failed before arming must not hold the others forever.
    const fallback = setTimeout(() => this.#go(), 180_000);
    this.down = go.then(async () => {
      clearTimeout(fallback);
      await (await this.broker).down({ signal: 'SIGKILL' });
      return Date.now();
    });
    this.up = this.down.then(async () => {
      await new Promise((r) => setTimeout(r, OUTAGE_MS)); // the fault's length, not a wait for a state
      await (await this.broker).up();
      return Date.now();
    });
  }

  arm(): void {
    if (++this.#armed === SCENARIOS) this.#go();
  }

  async addresses(): Promise<string[]> {
    return (await this.broker).brokers;
  }
}

const outage = new Outage();
test.after.always(async () => (await outage.broker).stop());

async function kafka(): Promise<InstanceType<typeof kafkajs.Kafka>> {
  return new kafkajs.Kafka({ clientId: unique('outage-test'), brokers: await outage.addresses(), logLevel: kafkajs.logLevel.NOTHING });
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  await createTopics([{ topic, partitions }], await outage.addresses());
}

async function members(group: string): Promise<number | undefined> {
  const admin = (await kafka()).admin();
  try {
    await admin.connect();
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.members.length ?? 0;
  } catch {
    return undefined; // broker not answering yet
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Emits `n` records over `keys` keys in rounds; counts what was acked per key. */
async function emitRounds(emitter: Emitter<string>, counts: Map<string, number>, from: number, n: number, keys: number): Promise<void> {
  for (let i = from; i < from + n; i += 100) {
    const round: Promise<void>[] = [];
    for (let j = i; j < Math.min(i + 100, from + n); j++) {
      const key = `user-${j % keys}`;
      round.push(emitter.emit(key, 'click').then(() => void counts.set(key, (counts.get(key) ?? 0) + 1)));
    }
    await Promise.all(round);
  }
}

async function tableAtLeast(p: Processor, expected: Map<string, number>): Promise<boolean> {
  for (const [k, n] of expected) if (((await p.get(k)) as number | undefined ?? 0) < n) return false;
  return true;
}

function lines(child: ChildProcess): { seen: Set<string>; wait(line: string, ms: number): Promise<void> } {
  const seen = new Set<string>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => d.split('\n').forEach((l) => l && seen.add(l.trim())));
  return { seen, wait: async (line, ms) => void (await waitFor(`child to print '${line}'`, () => seen.has(line), ms)) };
}

test('stop() during the outage and 0.5–5 s after the broker is back: the process exits by itself, no member of it stays in the group', async (t) => {
  const brokers = (await outage.addresses()).join(',');
  const input = unique('stop-in');
  await createTopic(input, 4);
  // stop delays: negative = during the outage (ms after it began), positive = ms after the broker is back
  const delays = [-5000, 500, 1500, 3000, 5000];
  const runs = delays.map((delay) => {
    const group = unique('stopper');
    const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/stoppable.js', import.meta.url)), brokers, url.href, tempDir(t), '0'],
      { env: { ...process.env, PARTITA_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    t.teardown(() => void child.kill('SIGKILL'));
    return { delay, group, child, out: lines(child), exited };
  });
  await Promise.all(runs.map((r) => r.out.wait('ready', 120_000)));
  outage.arm();
  const downAt = await outage.down;
  await Promise.all(runs.map(async (r) => {
    if (r.delay < 0) {
      await new Promise((res) => setTimeout(res, Math.max(0, downAt - r.delay - Date.now())));
    } else {
      const upAt = await outage.up;
      await new Promise((res) => setTimeout(res, Math.max(0, upAt + r.delay - Date.now())));
    }
    const stopAt = Date.now();
    r.child.kill('SIGTERM');
    // A stop during the outage waits out stopTimeoutMs (5 s) for the effects it cannot produce.
    const code = await Promise.race([r.exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 45_000))]);
    t.is(code, 0, `stop ${r.delay} ms ${r.delay < 0 ? 'into the outage' : 'after the broker is back'}: the process exited (${code})`);
    t.log(`stop at ${r.delay} ms: exited ${Date.now() - stopAt} ms after SIGTERM; ${[...r.out.seen].join(', ')}`);
  }));
  await outage.up;
  // A member that could not leave (broker down) expires with its session (6 s); none rejoins.
  for (const r of runs) {
    await waitFor(`group ${r.group} to have no member`, async () => (await members(r.group)) === 0, 40_000, 250);
  }
  t.pass();
});

test(`a ${OUTAGE_MS / 1000} s outage mid-stream with workers: 2: run() never rejects, every key's count is at least what was emitted`, async (t) => {
  const brokers = await outage.addresses();
  const group = unique('survivor');
  const input = unique('survive-in');
  await createTopic(input, 6);
  const emitter = new Emitter({ brokers, topic: input, codec: codecs.string });
  const emitted = new Map<string, number>();
  await emitRounds(emitter, emitted, 0, 5000, 200);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}&workUs=200`, import.meta.url);
  const p = new Processor({ brokers, group: url, workers: 2, storagePath: tempDir(t), sessionTimeoutMs: 6000, commitIntervalMs: 100 });
  let rejected: unknown;
  const done = p.run().catch((err: unknown) => (rejected = err));
  t.teardown(() => p.stop());
  await waitFor('processing to be under way', () => processed(p) >= 1000, 120_000);
  // Keep emitting through the outage: those emits wait and land once the broker is back.
  const during = emitRounds(emitter, emitted, 5000, 5000, 200);
  outage.arm();
  await outage.down;
  await outage.up;
  await during;
  await emitRounds(emitter, emitted, 10_000, 2000, 200);
  await emitter.close();
  await waitFor('every emitted record to be counted', () => tableAtLeast(p, emitted), 120_000, 500);
  t.is(rejected, undefined, 'run() did not reject');
  let replayed = 0;
  for (const [k, n] of emitted) {
    const got = (await p.get(k)) as number;
    t.true(got >= n, `key ${k}: ${got} < ${n}`);
    replayed += got - n;
  }
  t.log(`processed ${processed(p)}; counts above emitted (replays): ${replayed}; partitions ${actors(p).map((a) => a.state).join(',')}`);
  await p.stop();
  await done;
  t.is(rejected, undefined);
});

test('an outage longer than brokerOutageMs: run() rejects with BrokerUnavailableError; a restart goes on from the last commit, nothing lost', async (t) => {
  const brokers = await outage.addresses();
  const group = unique('giveup');
  const input = unique('giveup-in');
  await createTopic(input, 3);
  const emitter = new Emitter({ brokers, topic: input, codec: codecs.string });
  const emitted = new Map<string, number>();
  await emitRounds(emitter, emitted, 0, 3000, 100);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}&workUs=500`, import.meta.url);
  const storagePath = tempDir(t);
  const options = { brokers, group: url, workers: 0, storagePath, sessionTimeoutMs: 6000, commitIntervalMs: 100, stopTimeoutMs: 3000 };
  const p = new Processor({ ...options, brokerOutageMs: 8000 });
  const done = p.run();
  done.catch(() => undefined);
  await waitFor('processing to be under way', () => processed(p) >= 500, 120_000);
  const late = new Emitter({ brokers, topic: input, codec: codecs.string, brokerOutageMs: 3000 });
  await late.emit('early', 'x');
  outage.arm();
  const downAt = await outage.down;
  const err = await t.throwsAsync(done, { instanceOf: BrokerUnavailableError });
  const ms = Date.now() - downAt;
  t.is(err?.code, ErrorCodes.BROKER_UNAVAILABLE);
  t.deepEqual(err?.brokers, brokers);
  t.false(err?.atStart);
  t.true(err!.waitedMs >= 8000, `waited ${err!.waitedMs} ms`);
  t.true(ms < OUTAGE_MS, `rejected ${ms} ms into the outage, before the broker came back`);
  t.log(`rejected ${ms} ms after the broker died: ${err!.message}`);

  // An Emitter (connected before the outage) likewise retries within its bound, then rejects
  // every pending emit.
  const emitStarted = Date.now();
  const lost = await Promise.allSettled([late.emit('a', 'x'), late.emit('b', 'y')]);
  for (const r of lost) {
    t.is(r.status, 'rejected');
    const e = (r as PromiseRejectedResult).reason as ProduceError;
    t.true(e instanceof ProduceError, String(e));
    t.true(e.cause instanceof BrokerUnavailableError, String(e.cause));
  }
  t.true(Date.now() - emitStarted < 15_000, `emits rejected after ${Date.now() - emitStarted} ms`);
  await late.close();

  await outage.up;
  emitted.set('early', (emitted.get('early') ?? 0) + 1);
  await emitRounds(emitter, emitted, 3000, 1000, 100);
  await emitter.close();
  const again = new Processor(options);
  const doneAgain = again.run();
  t.teardown(() => again.stop());
  await again.ready();
  await waitFor('every emitted record to be counted after the restart', () => tableAtLeast(again, emitted), 120_000, 500);
  await again.stop();
  await doneAgain;
});

test('a View with autoReconnect serves its last values while connecting through the outage, then follows new writes; run() does not reject', async (t) => {
  const brokers = await outage.addresses();
  const table = unique('viewed-table');
  await createTopics([{ topic: table, partitions: 6, compact: true }], brokers);
  const writer = new Emitter({ brokers, topic: table, codec: codecs.json<number>() });
  await Promise.all(Array.from({ length: 200 }, (_, i) => writer.emit(`key-${i}`, i)));
  const view = new View({ brokers, table, codec: codecs.json<number>(), storagePath: tempDir(t), autoReconnect: true });
  let rejected: unknown;
  const running = view.run().catch((err: unknown) => (rejected = err));
  t.teardown(() => view.stop());
  await view.ready();
  t.is(await view.get('key-42'), 42);
  const seen = new Set<ViewState>();
  const watch = setInterval(() => seen.add(view.state), 50);
  t.teardown(() => clearInterval(watch));
  outage.arm();
  await outage.down;
  await waitFor('the view to report connecting', () => view.state === 'connecting', 20_000, 50);
  t.is(await view.get('key-42'), 42, 'serves its last values while connecting');
  t.is(await view.get('key-199'), 199);
  await outage.up;
  await Promise.all(Array.from({ length: 200 }, (_, i) => writer.emit(`key-${i}`, i + 1000)));
  await writer.close();
  await waitFor('the view to follow the writes made after the outage', async () => (await view.get('key-0')) === 1000 && (await view.get('key-199')) === 1199, 60_000, 100);
  await waitFor('the view to be running again', () => view.state === 'running', 30_000, 50);
  clearInterval(watch);
  t.true(seen.has('connecting') && seen.has('running'), [...seen].join(','));
  t.is(rejected, undefined, 'run() did not reject');
  await view.stop();
  await running;
  t.is(rejected, undefined);
});
