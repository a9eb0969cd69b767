// Faults with real processes and real rebalances: nothing acked is lost.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTopics, tempDir, unique, waitFor } from './helpers.js';
import { actors, captureLogger, emitCounts, getAnywhere, merge, processed, start, tableOf, waitProcessed } from './processor-helpers.js';
import type { Processor } from '../src/index.js';

test('a processor process killed with SIGKILL mid-stream loses nothing: the restart replays from the last commit', async (t) => {
  const group = unique('killed');
  const topic = unique('kill-in');
  await createTopics([{ topic, partitions: 4 }]);
  const expected = await emitCounts(topic, 40_000, 500);
  const storagePath = tempDir(t);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${topic}&workUs=20`, import.meta.url);

  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/run-processor.js', import.meta.url)), url.href, storagePath, '2'], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let seen = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const m = /processed (\d+)\s*$/.exec(d.trim());
    if (m) seen = Number(m[1]);
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  await waitFor('the child to process 10,000 records', () => seen >= 10_000, 90_000);
  t.true(seen < 40_000, `killed mid-stream (after ${seen})`);
  child.kill('SIGKILL');
  t.is(await exited, 'SIGKILL');

  const log = captureLogger();
  const joinStarted = Date.now();
  const { p, done } = await start({ group: url, workers: 2, storagePath, sessionTimeoutMs: 6000, logger: log.logger }, t);
  // The killed member holds the group until its session expires: the log says so instead of waiting silently.
  const waiting = log.records.find((r) => r.msg.includes('member(s) that have not left'));
  t.truthy(waiting, `the wait for the dead member is logged (got: ${log.records.map((r) => r.msg).join(' | ')})`);
  t.log(`joined ${Date.now() - joinStarted} ms after the restart; logged: ${waiting?.msg}`);
  await waitFor('all input to be committed', async () => {
    const lag = p.stats().actors.every((a) => a.lag === 0);
    return lag && actors(p).length === 4 && processed(p) > 0;
  }, 120_000);
  const counts = await tableOf(p, expected.keys());
  let duplicates = 0;
  for (const [k, n] of expected) {
    const got = counts.get(k) as number;
    t.true(got >= n, `key ${k}: ${got} < ${n} (lost updates)`);
    duplicates += got - n;
  }
  t.log(`child processed ${seen} before SIGKILL; duplicates after restart: ${duplicates}`);
  await p.stop();
  await done;
});

test('two instances split the partitions; a stopping instance hands its partitions over with nothing lost', async (t) => {
  const group = unique('split');
  const topic = unique('split-in');
  await createTopics([{ topic, partitions: 6 }]);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${topic}`, import.meta.url);
  let expected = await emitCounts(topic, 6000, 300);
  const a = await start({ group: url, workers: 1, storagePath: tempDir(t) }, t);
  await waitProcessed(a.p, 6000);
  const b = await start({ group: url, workers: 1, storagePath: tempDir(t) }, t);
  await waitFor('both instances to hold 3 partitions', () => actors(a.p).length === 3 && actors(b.p).length === 3 && [...actors(a.p), ...actors(b.p)].every((x) => x.state === 'running'), 60_000);
  const held = [...actors(a.p), ...actors(b.p)].map((x) => x.partition).sort();
  t.deepEqual(held, [0, 1, 2, 3, 4, 5]);
  expected = merge(expected, await emitCounts(topic, 3000, 300));
  await waitFor('the new records to be processed', () => allCounted([a.p, b.p], expected), 60_000);
  await a.p.stop();
  await a.done;
  await waitFor('b to hold all 6 partitions', () => actors(b.p).length === 6 && actors(b.p).every((x) => x.state === 'running'), 60_000);
  expected = merge(expected, await emitCounts(topic, 3000, 300));
  await waitFor('the last records to be processed', () => allCounted([b.p], expected), 60_000);
  const counts = await tableOf(b.p, expected.keys());
  let duplicates = 0;
  for (const [k, n] of expected) duplicates += (counts.get(k) as number) - n;
  t.log(`duplicates after two rebalances: ${duplicates}`);
  t.true(duplicates >= 0);
  await b.p.stop();
  await b.done;
});

async function allCounted(ps: Processor[], expected: Map<string, number>): Promise<boolean> {
  for (const [k, n] of expected) if (((await getAnywhere(ps, k)) as number | undefined ?? 0) < n) return false;
  return true;
}
