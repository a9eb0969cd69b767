// Views of a processor's table, and joins: the table-partition mechanism read from a second
// place (a View in this process) and from inside actors (a joined table).
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Emitter, View, codecs, type ViewStats } from '../src/index.js';
import { brokers, createTopics, kafka, tempDir, unique, waitFor } from './helpers.js';
import { emitCounts, merge, start, waitProcessed } from './processor-helpers.js';
import type { Joined } from './fixtures/joiner.js';
import type { Looked } from './fixtures/looker.js';

const sum = (s: ViewStats, f: (p: ViewStats['partitions'][number]) => number) => s.partitions.reduce((n, p) => n + f(p), 0);

test('a View of a 6-partition table equals the processor key by key, iterates in order and by range, follows new writes, and a restart reads only the delta', async (t) => {
  const group = unique('viewed');
  const input = unique('view-in');
  await createTopics([{ topic: input, partitions: 6 }]);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
  let expected = await emitCounts(input, 3000, 300);
  const { p, done } = await start({ group: url, workers: 2, storagePath: tempDir(t), commitIntervalMs: 100 }, t);
  await waitProcessed(p, 3000);

  const storagePath = tempDir(t);
  const open = () => {
    const v = new View({ brokers: brokers(), table: `${group}-table`, codec: codecs.json<number>(), storagePath });
    const running = v.run();
    t.teardown(() => v.stop());
    return { v, running };
  };
  const first = open();
  await first.v.ready();
  t.is(first.v.state, 'running');
  for (const [k, n] of expected) {
    t.is(await first.v.get(k), n, k);
    t.is(await first.v.get(k), (await p.get(k)) as number | undefined);
  }
  t.false(await first.v.has('nobody'));
  t.is(await first.v.get('nobody'), undefined);

  const keys: string[] = [];
  for await (const [k, n] of first.v.entries()) {
    keys.push(k);
    t.is(n, expected.get(k)!);
  }
  t.deepEqual(keys, [...expected.keys()].sort(), 'every key once, in global key order');
  const slice: string[] = [];
  for await (const [k] of first.v.entries({ start: 'user-1', end: 'user-2' })) slice.push(k);
  t.deepEqual(slice, keys.filter((k) => k >= 'user-1' && k < 'user-2'), 'the half-open range [user-1, user-2)');
  t.true(slice.length > 0 && slice.length < keys.length);

  // A running view follows new writes.
  const more = await emitCounts(input, 600, 300);
  expected = merge(expected, more);
  await waitFor('the view to follow the new writes', async () => {
    for (const [k, n] of expected) if ((await first.v.get(k)) !== n) return false;
    return true;
  }, 60_000, 100);
  await first.v.stop();
  await first.running;
  const written = sum(first.v.stats(), (s) => s.position);
  t.is(first.v.state, 'stopped');

  // Writes while the view is down; a restart on the same storagePath reads only those.
  const delta = await emitCounts(input, 900, 300);
  expected = merge(expected, delta);
  await waitProcessed(p, 4500);
  const second = open();
  await second.v.ready();
  const stats = second.v.stats();
  const reread = sum(stats, (s) => s.recovery?.records ?? 0);
  for (const part of stats.partitions) t.not(part.recovery?.checkpoint, null, `partition ${part.partition} starts from its checkpoint`);
  t.log(`restart re-read ${reread} changelog records of ${sum(stats, (s) => s.position)} (delta written while stopped: ${sum(stats, (s) => s.position) - written})`);
  t.is(reread, sum(stats, (s) => s.position) - written, 'only the delta');
  for (const [k, n] of expected) t.is(await second.v.get(k), n);
  await second.v.stop();
  await p.stop();
  await done;
});

test('a View of a missing table fails run() with TopicError; get before run is a StateError', async (t) => {
  const v = new View({ brokers: brokers(), table: unique('no-such-table'), codec: codecs.string, storage: 'memory' });
  await t.throwsAsync(v.get('x'), { code: 'PARTITA_STATE' });
  await t.throwsAsync(v.run(), { code: 'PARTITA_TOPIC', message: /not found/ });
  t.is(v.state, 'failed');
});

test('a View reads a table written with gzip-compressed batches (the reader hands them to kafkajs\'s decoder) and in plain batches after them', async (t) => {
  const table = unique('gzip-table');
  await createTopics([{ topic: table, partitions: 2, compact: true }]);
  const producer = kafka().producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const { CompressionTypes } = await import('kafkajs');
  const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 50}`, value: `v${i}` }));
  await producer.send({ topic: table, compression: CompressionTypes.GZIP, messages });
  await producer.send({ topic: table, messages: [{ key: 'k1', value: null }, { key: 'plain', value: 'p' }] });
  const v = new View({ brokers: brokers(), table, codec: codecs.string, storage: 'memory' });
  const running = v.run();
  t.teardown(() => v.stop());
  await v.ready();
  t.is(await v.get('k0'), 'v150');
  t.is(await v.get('k49'), 'v199');
  t.is(await v.get('k1'), undefined, 'deleted by the later tombstone');
  t.is(await v.get('plain'), 'p');
  t.is(v.stats().partitions.reduce((n, p) => n + (p.recovery?.records ?? 0), 0), 202);
  await v.stop();
  await running;
});

test('join: records see their key in the co-partitioned table written before start, and updates made while running', async (t) => {
  const group = unique('joiner');
  const input = unique('join-in');
  const table = unique('users-table');
  await createTopics([{ topic: input, partitions: 4 }, { topic: table, partitions: 4, compact: true }]);
  const users = new Emitter({ brokers: brokers(), topic: table, codec: codecs.json<{ name: string }>() });
  await Promise.all(Array.from({ length: 100 }, (_, i) => users.emit(`user-${i}`, { name: `name-${i}` })));
  const url = new URL(`./fixtures/joiner.js?group=${group}&input=${input}&table=${table}`, import.meta.url);
  const { p, done } = await start({ group: url, workers: 2, storagePath: tempDir(t) }, t);
  const clicks = new Emitter({ brokers: brokers(), topic: input, codec: codecs.string });
  await Promise.all(Array.from({ length: 120 }, (_, i) => clicks.emit(`user-${i}`, `click-${i}`)));
  const joined = async (i: number) => ((await p.get(`user-${i}`)) as Joined | undefined)?.last === `click-${i}`;
  await waitFor('every click to be joined', async () => (await Promise.all(Array.from({ length: 120 }, (_, i) => joined(i)))).every(Boolean), 60_000, 100);
  for (let i = 0; i < 120; i++) {
    t.deepEqual(await p.get(`user-${i}`), { last: `click-${i}`, name: i < 100 ? `name-${i}` : null }, `user-${i}`);
  }
  // The table changes while the processor runs: later records see the new value.
  await users.emit('user-7', { name: 'renamed' });
  await users.emit('user-110', { name: 'newcomer' });
  let round = 0;
  await waitFor('records to see the table updates', async () => {
    round++;
    await Promise.all([clicks.emit('user-7', `again-${round}`), clicks.emit('user-110', `again-${round}`)]);
    const a = (await p.get('user-7')) as Joined;
    const b = (await p.get('user-110')) as Joined;
    return a.name === 'renamed' && b.name === 'newcomer';
  }, 60_000, 200);
  await users.close();
  await clicks.close();
  await p.stop();
  await done;
});

for (const workers of [2, 0]) test(`lookup with workers: ${workers}: a 3-partition table read from a group with 6 input partitions, held once per process, updates followed`, async (t) => {
  const group = unique('looker');
  const input = unique('look-in');
  const table = unique('products-table');
  await createTopics([{ topic: input, partitions: 6 }, { topic: table, partitions: 3, compact: true }]);
  const products = new Emitter({ brokers: brokers(), topic: table, codec: codecs.json<{ tier: string }>() });
  await Promise.all(Array.from({ length: 300 }, (_, i) => products.emit(`product-${i}`, { tier: `tier-${i % 7}` })));
  const storagePath = tempDir(t);
  const url = new URL(`./fixtures/looker.js?group=${group}&input=${input}&table=${table}`, import.meta.url);
  const { p, done } = await start({ group: url, workers, storagePath }, t);
  const lookups = p.stats().lookups;
  t.is(lookups.length, 1);
  t.like(lookups[0], { table, partitions: 3, keys: 300, recoveredRecords: 300 }, 'recovered before the first input');
  // Held once: one LMDB environment for the table in this process, none per actor or per thread.
  const envs = listFiles(storagePath).filter((f) => f.endsWith('table.mdb'));
  t.deepEqual(envs.filter((f) => f.includes(table)), [join('lookups', table, 'table.mdb')], envs.join(', '));
  t.is(envs.length, 1 + 6, 'the lookup table once, plus the group table partitions');

  const views = new Emitter({ brokers: brokers(), topic: input, codec: codecs.string });
  await Promise.all(Array.from({ length: 120 }, (_, i) => views.emit(`user-${i}`, `product-${(i * 7) % 300}`)));
  // Partitions run independently: user-119 done says nothing of user-0, so wait for every key.
  const lookedUp = async (i: number) => ((await p.get(`user-${i}`)) as Looked | undefined)?.product === `product-${(i * 7) % 300}`;
  await waitFor('every view to be looked up', async () => (await Promise.all(Array.from({ length: 120 }, (_, i) => lookedUp(i)))).every(Boolean), 60_000, 100);
  for (let i = 0; i < 120; i++) {
    t.deepEqual(await p.get(`user-${i}`), { product: `product-${(i * 7) % 300}`, tier: `tier-${((i * 7) % 300) % 7}` }, `user-${i}`);
  }
  await products.emit('product-7', { tier: 'gold' });
  let round = 0;
  await waitFor('a record after the update to see it', async () => {
    await views.emit('user-1', `product-7`);
    round++;
    return ((await p.get('user-1')) as Looked).tier === 'gold';
  }, 60_000, 200);
  t.log(`update seen after ${round} rounds`);
  await products.close();
  await views.close();
  await p.stop();
  await done;
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), join(prefix, e.name)) : [join(prefix, e.name)]));
}
