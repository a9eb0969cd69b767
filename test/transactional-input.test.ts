// Input written in Kafka transactions: the fetched batches then hold control records (commit and
// abort markers), and the fetch responses name aborted transactions. partita reads plain batches
// itself and leaves responses with aborted transactions to kafkajs's decoder; either way a
// processor sees each committed record once and no aborted one, and does not stall on markers.
import test from 'ava';
import { createTopics, kafka, unique, tempDir } from './helpers.js';
import { processed, start, tableOf, waitProcessed } from './processor-helpers.js';

test('transactional input: committed records are processed once, aborted ones never, and the markers between them do not stall a partition', async (t) => {
  const group = unique('txn-count');
  const topic = unique('txn-in');
  await createTopics([{ topic, partitions: 2 }]);
  const producer = kafka().producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const expected = new Map<string, number>();
  const batch = (n: number, tag: string, count: boolean) => Array.from({ length: n }, (_, i) => {
    const key = `user-${i % 10}`;
    if (count) expected.set(key, (expected.get(key) ?? 0) + 1);
    return { key, value: `${tag}-${i}` };
  });
  const inTransaction = async (messages: { key: string; value: string }[], commit: boolean) => {
    const tx = await producer.transaction();
    await tx.send({ topic, messages });
    if (commit) await tx.commit();
    else await tx.abort();
  };
  await inTransaction(batch(100, 'a', true), true);
  await inTransaction(batch(50, 'b', false), false);
  await inTransaction(batch(60, 'c', true), true);
  // Plain records after all of it: once they are processed, everything before them was passed.
  const plain = kafka().producer();
  await plain.connect();
  t.teardown(() => plain.disconnect());
  await plain.send({ topic, messages: batch(10, 'd', true) });

  const url = new URL(`./fixtures/counter.js?group=${group}&input=${topic}`, import.meta.url);
  const { p } = await start({ group: url, workers: 2, storagePath: tempDir(t), commitIntervalMs: 100 }, t);
  await waitProcessed(p, 170, 60_000);
  t.is(processed(p), 170, 'the 50 aborted records were not processed');
  t.deepEqual(await tableOf(p, expected.keys()), expected);
});
