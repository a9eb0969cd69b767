// Lag on a real broker: per input partition, the high-water mark minus the committed offset,
// with the high-water marks and committed offsets refreshed from the brokers: 0 on every
// partition once everything is committed (idle ones included), known right after a restart.
import test from 'ava';
import { createTopics, kafka, tempDir, unique, waitFor } from './helpers.js';
import { start, waitProcessed } from './processor-helpers.js';

test('lag is 0 on every partition once everything is committed, idle ones included; after a restart it is known without new records, never above the real backlog', async (t) => {
  const group = unique('lagged');
  const input = `${group}-in`;
  await createTopics([{ topic: input, partitions: 4 }]);
  // Partitions 0 and 1 get records; 2 and 3 stay empty (before, their lag was {}: unknown and 0 alike).
  // Idempotent: a retried produce (a busy CI broker) must not append the batch twice, the counts below are exact.
  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: input, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: 'x', partition: i % 2 })) });
  await producer.disconnect();

  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
  const storagePath = tempDir(t);
  const first = await start({ group: url, workers: 0, storagePath, offsetsRefreshMs: 300 }, t);
  await waitProcessed(first.p, 300);
  await waitFor('lag 0 on all 4 partitions', () => first.p.stats().actors.length === 4 && first.p.stats().actors.every((a) => a.lag === 0), 20_000);
  const byPartition = Object.fromEntries(first.p.stats().actors.map((a) => [a.partition, a.offsets[input]!]));
  t.deepEqual([0, 1, 2, 3].map((p) => byPartition[p]!.highWatermark), [150, 150, 0, 0]);
  t.deepEqual([0, 1].map((p) => byPartition[p]!.committed), [150, 150]);
  t.true([0, 1, 2, 3].every((p) => byPartition[p]!.pending === 0));
  await first.p.stop();
  await first.done;

  // A new instance has no records to fetch: its lag comes from the brokers' offsets.
  const second = await start({ group: url, workers: 0, storagePath, offsetsRefreshMs: 300 }, t);
  const observed = new Set<string>();
  await waitFor('lag known (0) on all 4 partitions after the restart', () => {
    const actors = second.p.stats().actors;
    for (const a of actors) observed.add(String(a.lag));
    return actors.length === 4 && actors.every((a) => a.lag === 0);
  }, 20_000, 20);
  t.true([...observed].every((l) => l === '0' || l === 'null'), `lag was only ever 0 or unknown: ${[...observed].join(', ')}`);
  t.deepEqual(second.p.stats().actors.map((a) => a.offsets[input]!.committed), [150, 150, null, null], "the brokers' committed offsets; none for the empty partitions");
  t.log(`lag values seen after the restart: ${[...observed].join(', ')}`);
});
