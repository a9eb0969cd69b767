// Offsets are committed on commitIntervalMs, and as soon as the processor has caught up: every
// partition processed up to the high-water mark its last fetch reported, every effect acked.
import test from 'ava';
import { createTopics, kafka, tempDir, unique, waitFor } from './helpers.js';
import { committed, start, waitProcessed } from './processor-helpers.js';

for (const workers of [2, 0]) {
  test(`workers: ${workers} — a caught-up processor commits its offsets without waiting for the interval`, async (t) => {
    const group = unique(`caughtup${workers}`);
    const input = `${group}-in`;
    await createTopics([{ topic: input, partitions: 3 }]);
    // Idempotent: a retried produce (a busy CI broker) must not append the batch twice.
    const producer = kafka().producer({ idempotent: true });
    await producer.connect();
    // Partitions 0 and 1 get records, partition 2 none (an empty partition must not hold it up).
    await producer.send({ topic: input, messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 5}`, value: 'x', partition: i % 2 })) });
    await producer.disconnect();
    const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
    // An interval far beyond the test's deadlines: only the caught-up commit can get there in time.
    const { p } = await start({ group: url, workers, storagePath: tempDir(t), commitIntervalMs: 120_000 }, t);
    const startedAt = Date.now();
    await waitProcessed(p, 200);
    await waitFor('all 200 offsets committed', async () => (await committed(group, input)) === 200, 20_000, 100);
    t.true(Date.now() - startedAt < 30_000);
    t.deepEqual(p.stats().actors.map((a) => a.offsets[input]!.committed).sort(), [100, 100, null].sort());
  });
}
