// Async callbacks keep per-partition order; deferCommit holds the commit until released;
// a TypeScript group module runs in worker threads.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Emitter, codecs, defineGroup, input, persist } from '../src/index.js';
import { brokers, createTopics, tempDir, unique, waitFor } from './helpers.js';
import { emitCounts, start, waitProcessed } from './processor-helpers.js';
import { committed } from './processor-helpers.js';

test('async callbacks run one after the other per partition, in offset order', async (t) => {
  const topic = unique('async-in');
  await createTopics([{ topic, partitions: 2 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.json<number>() });
  await Promise.all(Array.from({ length: 300 }, (_, i) => emitter.emit(`k${i % 7}`, i)));
  await emitter.close();
  const order = new Map<number, number[]>();
  let running = 0;
  let overlap = 0;
  const graph = defineGroup(unique('async'), [
    input(topic, codecs.json<number>(), async (ctx, v) => {
      if (++running > 1) overlap++;
      await new Promise((r) => setTimeout(r, v % 3));
      const list = order.get(ctx.partition) ?? [];
      list.push(ctx.offset);
      order.set(ctx.partition, list);
      ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1);
      running--;
    }),
    persist(codecs.json<number>()),
  ]);
  // one actor thread for both partitions would interleave them; in-thread mode shares one loop too
  const { p, done } = await start({ group: graph, workers: 0, storage: 'memory' }, t);
  await waitProcessed(p, 300);
  for (const offsets of order.values()) t.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  t.is([...order.values()].reduce((s, o) => s + o.length, 0), 300);
  t.log(`callbacks of different partitions overlapped ${overlap} times (allowed); within a partition never`);
  await p.stop();
  await done;
});

test('deferCommit holds the commit of its message (and later ones) until released', async (t) => {
  const topic = unique('defer-in');
  const group = unique('defer');
  await createTopics([{ topic, partitions: 1 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  for (const v of ['a', 'b', 'hold', 'c', 'd']) await emitter.emit('k', v);
  await emitter.close();
  let release: ((err?: unknown) => void) | undefined;
  const graph = defineGroup(group, [
    input(topic, codecs.string, (ctx, v) => {
      if (v === 'hold') release = ctx.deferCommit();
    }),
  ]);
  const { p, done } = await start({ group: graph, workers: 0, storage: 'memory', flushEvery: 1, commitIntervalMs: 50 }, t);
  await waitProcessed(p, 5);
  await waitFor('offsets before the held message to be committed', async () => (await committed(group, topic)) === 2, 30_000);
  // all five were processed, yet the commit stays at the held message while it is held
  t.is(await committed(group, topic), 2);
  release!();
  await waitFor('the commit to move past the released message', async () => (await committed(group, topic)) === 5, 30_000);
  await p.stop();
  await done;
  t.pass();
});

test('under tsx, a TypeScript group module runs in worker threads (tsx is registered inside them)', async (t) => {
  const group = unique('tsmod');
  const topic = unique('ts-in');
  await createTopics([{ topic, partitions: 2 }]);
  const expected = await emitCounts(topic, 200, 20);
  // the .ts sources, as an app run with `node --import tsx app.ts` would use them
  const url = new URL(`../../test/fixtures/counter.ts?group=${group}&input=${topic}`, import.meta.url);
  const script = fileURLToPath(new URL('../../test/fixtures/run-processor.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, url.href, tempDir(t), '1', '200', ...expected.keys()], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 0, out.slice(-2000));
  const line = out.split('\n').find((l) => l.startsWith('table '));
  t.truthy(line, out.slice(-2000));
  t.deepEqual(new Map(Object.entries(JSON.parse(line!.slice(6)))), expected);
});
