// Exact counts on the real broker, then a restart with local state, then a restart with the
// local state deleted (rebuilt from the changelog). Once with worker threads, once in-thread.
import test from 'ava';
import { rmSync } from 'node:fs';
import { createTopics, kafka, tempDir, unique } from './helpers.js';
import { actors, emitCounts, merge, start, tableOf, waitProcessed } from './processor-helpers.js';

for (const workers of [2, 0]) {
  test(`workers: ${workers} — exact counts; restart from the checkpoint; rebuild lost state from the changelog`, async (t) => {
    const total = workers === 2 ? 50_000 : 20_000;
    const group = unique(`count${workers}`);
    const topic = unique('clicks');
    await createTopics([{ topic, partitions: 6 }]);
    const storagePath = tempDir(t);
    const groupUrl = new URL(`./fixtures/counter.js?group=${group}&input=${topic}`, import.meta.url);
    const opts = { group: groupUrl, workers, storagePath };

    // 1. exact count over 1,000 keys on 6 partitions
    let expected = await emitCounts(topic, total, 1000);
    let run = await start(opts);
    await waitProcessed(run.p, total);
    t.deepEqual(await tableOf(run.p, expected.keys()), expected);
    t.deepEqual(actors(run.p).map((a) => a.state), Array(6).fill('running'));
    await run.p.stop();
    await run.done;

    // 2. restart with local state: recovery reads only changelog records after the checkpoint
    const more = await emitCounts(topic, 1000, 1000);
    expected = merge(expected, more);
    run = await start(opts);
    for (const a of actors(run.p)) {
      t.truthy(a.recovery, `partition ${a.partition} has recovery stats`);
      t.is(a.recovery!.records, 0, `partition ${a.partition} re-read no changelog record`);
      t.is(a.recovery!.checkpoint, a.recovery!.to - 1, `partition ${a.partition} checkpoint is the changelog end`);
    }
    await waitProcessed(run.p, 1000);
    t.deepEqual(await tableOf(run.p, expected.keys()), expected);
    await run.p.stop();
    await run.done;

    // 3. lost local state: the table is rebuilt from the changelog
    rmSync(storagePath, { recursive: true, force: true });
    run = await start(opts);
    let rebuilt = 0;
    for (const a of actors(run.p)) {
      t.is(a.recovery!.checkpoint, null);
      t.is(a.recovery!.from, 0);
      rebuilt += a.recovery!.records;
    }
    t.true(rebuilt >= 1000, `rebuilt from ${rebuilt} changelog records`);
    t.log(`rebuilt ${rebuilt} changelog records in ${Math.max(...actors(run.p).map((a) => a.recovery!.ms))} ms (slowest partition)`);
    t.deepEqual(await tableOf(run.p, expected.keys()), expected);
    await run.p.stop();
    await run.done;
  });
}

test('workers: 2 — a skewed backlog is spread over the threads: the two heavy partitions (0 and 5) are placed on different threads, three partitions each', async (t) => {
  const group = unique('skew');
  const topic = unique('skewed');
  await createTopics([{ topic, partitions: 6 }]);
  const producer = kafka().producer();
  await producer.connect();
  // Opened in partition order, 0 and 5 would both land on the first thread (counts alternate).
  const sizes = [400, 10, 10, 10, 10, 400];
  for (const [partition, n] of sizes.entries()) {
    await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition, key: `p${partition}-${i % 20}`, value: 'click' })) });
  }
  await producer.disconnect();
  const groupUrl = new URL(`./fixtures/counter.js?group=${group}&input=${topic}`, import.meta.url);
  const { p } = await start({ group: groupUrl, workers: 2, storagePath: tempDir(t) }, t);
  await waitProcessed(p, sizes.reduce((s, n) => s + n, 0));
  const threads = p.stats().threads.map((th) => th.partitions);
  t.deepEqual(threads.map((ps) => ps.length), [3, 3], JSON.stringify(threads));
  t.not(threads.findIndex((ps) => ps.includes(0)), threads.findIndex((ps) => ps.includes(5)), `partitions 0 and 5 share a thread: ${JSON.stringify(threads)}`);
});

test('workers: 1 with mainThreadActors — the main thread and the thread take three partitions each; exact counts, and again after a restart from the checkpoint', async (t) => {
  const group = unique('mainshare');
  const topic = unique('clicks');
  await createTopics([{ topic, partitions: 6 }]);
  const groupUrl = new URL(`./fixtures/counter.js?group=${group}&input=${topic}`, import.meta.url);
  const opts = { group: groupUrl, workers: 1, mainThreadActors: true, storagePath: tempDir(t) };
  let expected = await emitCounts(topic, 10_000, 500);
  let run = await start(opts, t);
  await waitProcessed(run.p, 10_000);
  t.deepEqual(await tableOf(run.p, expected.keys()), expected);
  const threads = run.p.stats().threads;
  t.deepEqual(threads.map((th) => [th.thread, th.partitions.length]), [[0, 3], [-1, 3]], JSON.stringify(threads));
  t.deepEqual([...threads[0]!.partitions, ...threads[1]!.partitions].sort(), [0, 1, 2, 3, 4, 5]);
  await run.p.stop();
  await run.done;

  const more = await emitCounts(topic, 1000, 500);
  expected = merge(expected, more);
  run = await start(opts, t);
  for (const a of actors(run.p)) t.is(a.recovery!.records, 0, `partition ${a.partition} re-read no changelog record`);
  await waitProcessed(run.p, 1000);
  t.deepEqual(await tableOf(run.p, expected.keys()), expected);
});
