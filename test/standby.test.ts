// Hot standby (partitions this instance does not own, followed locally and served by get) and
// recover-ahead (every partition restored before joining), on the real broker.
import test from 'ava';
import { Emitter, codecs, type Processor } from '../src/index.js';
import { brokers, createTopics, tempDir, unique, waitFor } from './helpers.js';
import { actors, emitCounts, merge, processed, start } from './processor-helpers.js';

const standbys = (p: Processor) => p.stats().standby;

test('hot standby: each instance serves the partitions it does not own with current values; a takeover reads only what was written since', async (t) => {
  const group = unique('standby');
  const input = unique('standby-in');
  await createTopics([{ topic: input, partitions: 6 }]);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
  const options = { group: url, workers: 1, hotStandby: true, commitIntervalMs: 100, sessionTimeoutMs: 10_000 };
  const a = await start({ ...options, storagePath: tempDir(t) }, t);
  const b = await start({ ...options, storagePath: tempDir(t) }, t);
  await waitFor('3 partitions each, the other 3 in standby', () =>
    actors(a.p).length === 3 && actors(b.p).length === 3 && standbys(a.p).length === 3 && standbys(b.p).length === 3 &&
    [...standbys(a.p), ...standbys(b.p)].every((s) => s.state === 'standby'), 60_000);
  let expected = await emitCounts(input, 6000, 600);
  // Both instances answer for every key: from their actors, or from their standby partitions.
  await waitFor('both instances to serve every key with its current value', async () => {
    for (const [k, n] of expected) if ((await a.p.get(k)) !== n || (await b.p.get(k)) !== n) return false;
    return true;
  }, 60_000, 200);
  const owned = actors(b.p).map((x) => x.partition).sort();
  t.deepEqual(standbys(a.p).map((s) => s.partition).sort(), owned, "a's standby partitions are b's");

  expected = merge(expected, await emitCounts(input, 1200, 600));
  await waitFor('the new records to be counted and followed', async () => {
    for (const [k, n] of expected) if ((await a.p.get(k)) !== n) return false;
    return true;
  }, 60_000, 200);
  const before = new Map(standbys(a.p).map((s) => [s.partition, s.position]));
  await b.p.stop();
  await b.done;
  await waitFor('a to own all 6 partitions', () => actors(a.p).length === 6 && actors(a.p).every((x) => x.state === 'running'), 60_000);
  for (const x of actors(a.p).filter((x) => owned.includes(x.partition))) {
    const r = x.recovery!;
    t.not(r.checkpoint, null, `partition ${x.partition} starts from the standby's checkpoint`);
    t.is(r.from, before.get(x.partition)!, `partition ${x.partition} reads from where the standby was`);
    t.true(r.records < 200, `partition ${x.partition} re-read ${r.records} records (the delta)`);
    t.log(`takeover of partition ${x.partition}: read ${r.records} changelog records from offset ${r.from} (of ${r.to})`);
  }
  expected = merge(expected, await emitCounts(input, 600, 600));
  await waitFor('a to count everything', async () => {
    for (const [k, n] of expected) if ((await a.p.get(k)) !== n) return false;
    return true;
  }, 60_000, 200);
  await a.p.stop();
  await a.done;
});

test('recover-ahead: a joining instance has its 200,000-record table recovered before the join and processes its first input soon after it', async (t) => {
  const group = unique('ahead');
  const input = unique('ahead-in');
  const table = `${group}-table`;
  await createTopics([{ topic: input, partitions: 6 }, { topic: table, partitions: 6, compact: true }]);
  // The table's changelog as a previous generation left it: 200,000 records over 20,000 keys.
  const writer = new Emitter({ brokers: brokers(), topic: table, codec: codecs.json<number>(), maxBatch: 10_000 });
  for (let i = 0; i < 200_000; i += 20_000) {
    await Promise.all(Array.from({ length: 20_000 }, (_, j) => writer.emit(`user-${(i + j) % 20_000}`, Math.floor((i + j) / 20_000) + 1)));
  }
  await writer.close();
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
  const measure = async (recoverAhead: boolean) => {
    await emitCounts(input, 600, 600); // new input for this instance (the group's offsets carry over)
    let joinedAt = 0;
    const started = Date.now();
    const { p, done } = await start({ group: url, workers: 2, recoverAhead, storagePath: tempDir(t), onRebalance: () => (joinedAt ||= Date.now()) }, t);
    await waitFor('the first input to be processed', () => processed(p) > 0, 60_000, 5);
    const firstInputMs = Date.now() - joinedAt;
    const atAssignment = actors(p).reduce((n, a) => n + (a.recovery?.records ?? 0), 0);
    t.true(((await p.get('user-7')) as number) >= 10, 'the table was recovered (10 generations per key)');
    await p.stop();
    await done;
    return { firstInputMs, atAssignment, totalMs: joinedAt - started };
  };
  // The same group twice, with fresh local storage each time: only recoverAhead differs.
  const ahead = await measure(true);
  const plain = await measure(false);
  t.log(`recoverAhead: first input ${ahead.firstInputMs} ms after the join (read ${ahead.atAssignment} records after it; ${ahead.totalMs} ms from start to join)`);
  t.log(`without: first input ${plain.firstInputMs} ms after the join (read ${plain.atAssignment} records after it)`);
  t.is(ahead.atAssignment, 0, 'everything was recovered before the join');
  t.true(plain.atAssignment >= 200_000 - 600, `without recover-ahead the assignment reads the table (${plain.atAssignment})`);
  t.true(ahead.firstInputMs < plain.firstInputMs, 'sooner than recovering after the join');
});
