// visitAll: a visitor over every key of this instance's partitions, at-least-once, and its
// abort by a rebalance (a second instance joins mid-visit).
import test from 'ava';
import { VisitAbortedError } from '../src/index.js';
import { createTopics, tempDir, unique, waitFor } from './helpers.js';
import { actors, emitCounts, start, waitProcessed } from './processor-helpers.js';

test('visitAll over 10,000 keys with workers: 2 visits every key once; a second instance joining mid-visit aborts it with the count', async (t) => {
  const group = unique('visited');
  const input = unique('visit-in');
  await createTopics([{ topic: input, partitions: 6 }]);
  const expected = await emitCounts(input, 10_000, 10_000);
  const url = new URL(`./fixtures/visited.js?group=${group}&input=${input}`, import.meta.url);
  const a = await start({ group: url, workers: 2, storagePath: tempDir(t), commitIntervalMs: 100 }, t);
  await waitProcessed(a.p, 10_000);

  const started = Date.now();
  const { visited } = await a.p.visitAll('reset', { to: 42 });
  t.log(`visited ${visited} keys in ${Date.now() - started} ms`);
  t.is(visited, 10_000);
  for (const k of expected.keys()) t.is(await a.p.get(k), 42, k);

  await t.throwsAsync(a.p.visitAll('nope', {}), { code: 'PARTITA_NOT_FOUND' });
  const controller = new AbortController();
  const cancelled = a.p.visitAll('reset', { to: 5, burnUs: 500 }, { signal: controller.signal });
  controller.abort();
  const c = await t.throwsAsync(cancelled, { instanceOf: VisitAbortedError });
  t.is(c?.reason, 'signal');

  // Slow visits (1.5 ms a key, ~7 s over two threads); a second instance joins meanwhile.
  const visiting = a.p.visitAll('reset', { to: 7, burnUs: 1500 });
  visiting.catch(() => undefined);
  const b = await start({ group: url, workers: 1, storagePath: tempDir(t) }, t);
  const err = await t.throwsAsync(visiting, { instanceOf: VisitAbortedError });
  t.is(err?.code, 'PARTITA_VISIT_ABORTED');
  t.is(err?.reason, 'rebalance');
  t.true(err!.visited < 10_000, `visited ${err!.visited}`);
  t.log(`aborted after ${err!.visited} keys: ${err!.message}`);
  await waitFor('both instances to hold 3 partitions', () => actors(a.p).length === 3 && actors(b.p).length === 3, 60_000);
  await b.p.stop();
  await a.p.stop();
  await Promise.all([a.done, b.done]);
});
