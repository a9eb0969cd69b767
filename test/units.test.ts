// Pure logic: the co-partitioning plan, lifecycle transitions, the in-memory store.
import test, { type ExecutionContext } from 'ava';
import { LmdbStore } from '../src/storage/lmdb.js';
import type { PartitionStore } from '../src/storage/storage.js';
import { tempDir } from './helpers.js';
import { copartitionPlan } from '../src/kafka/copartition.js';
import { Lifecycle, ACTOR_TRANSITIONS } from '../src/runtime/lifecycle.js';
import { MemoryStore } from '../src/storage/memory.js';
import { StateError } from '../src/errors.js';
import { codecs } from '../src/index.js';
import { tableWrites } from '../src/table/update.js';
import { inputOffsets, maxKnown } from '../src/runtime/supervisor/input-offsets.js';
import { crc32c, encodeRecordBatch } from '../src/kafka/record-batch.js';
import { createRequire } from 'node:module';

test('co-partitioning plan: contiguous ranges in member order, every partition exactly once', (t) => {
  t.deepEqual([...copartitionPlan(['c', 'a', 'b'], 10)], [['a', [0, 1, 2]], ['b', [3, 4, 5, 6]], ['c', [7, 8, 9]]]);
  t.deepEqual([...copartitionPlan(['m1', 'm2'], 20)].map(([, p]) => [p[0], p[p.length - 1]]), [[0, 9], [10, 19]]);
  t.deepEqual([...copartitionPlan(['x', 'y', 'z'], 2)].map(([, p]) => p.length), [1, 0, 1]);
  for (let members = 1; members <= 7; members++) {
    for (const parts of [1, 3, 6, 12, 50]) {
      const plan = copartitionPlan(Array.from({ length: members }, (_, i) => `m${i}`), parts);
      const all = [...plan.values()].flat();
      t.deepEqual(all, Array.from({ length: parts }, (_, i) => i), `${members} members, ${parts} partitions`);
    }
  }
});

test('lifecycle: allowed transitions only; waitFor resolves on the state', async (t) => {
  const life = new Lifecycle('actor', 'opening', ACTOR_TRANSITIONS);
  const running = life.waitFor('running');
  life.to('recovering');
  life.to('running');
  t.is(await running, 'running');
  t.throws(() => life.to('recovering'), { instanceOf: StateError, message: /cannot go from 'running' to 'recovering'/ });
  t.is(await life.waitFor('running'), 'running');
});

const stores: [string, (t: ExecutionContext) => PartitionStore][] = [
  ['memory', () => new MemoryStore()],
  ['lmdb', (t) => new LmdbStore(tempDir(t))],
];
for (const [name, make] of stores) test(`${name} store: atomic apply with checkpoint, deletes, ordered ranges`, async (t) => {
  const s = make(t);
  t.is(s.checkpoint(), null);
  const b = (x: string) => new TextEncoder().encode(x);
  await s.apply([['b', b('2')], ['a', b('1')], ['c', b('3')], ['b', null]], 41);
  t.is(s.checkpoint(), 41);
  t.is(s.get('b'), undefined);
  t.deepEqual([...s.entries({ start: 'a', end: 'c' })].map(([k]) => k), ['a']);
  t.is(s.count(), 2);
  await s.clear();
  t.is(s.checkpoint(), null);
  await s.close();
});

test('lmdb store: data and checkpoint survive a reopen', async (t) => {
  const dir = tempDir(t);
  const a = new LmdbStore(dir);
  await a.apply([['k', new Uint8Array([1, 2])]], 7);
  await a.close();
  const b = new LmdbStore(dir);
  t.is(b.checkpoint(), 7);
  t.deepEqual([...b.get('k')!], [1, 2]);
  await b.close();
});

test('update callback: what a table stores per changelog record; previous sees earlier records of the same chunk', (t) => {
  const enc = new TextEncoder();
  const rec = (key: string, value: number | null, offset: number) => ({ key: enc.encode(key), value: value === null ? null : enc.encode(JSON.stringify(value)), offset });
  const stored = new Map<string, Uint8Array>([['a', enc.encode('10')]]);
  const seen: unknown[] = [];
  const writes = tableWrites([rec('a', 1, 5), rec('a', 2, 6), rec('b', 3, 7), rec('b', null, 8)], 4, {
    codec: codecs.json<number>() as never,
    get: (k) => stored.get(k),
    onUpdate: (u) => {
      seen.push([u.key, u.value, u.previous, u.partition, u.offset]);
      return u.value === null ? null : ((u.previous as number | undefined) ?? 0) + (u.value as number);
    },
  });
  t.deepEqual(writes.map(([k, v]) => [k, v === null ? null : JSON.parse(new TextDecoder().decode(v))]), [['a', 11], ['a', 13], ['b', 3], ['b', null]]);
  t.deepEqual(seen, [['a', 1, 10, 4, 5], ['a', 2, 11, 4, 6], ['b', 3, undefined, 4, 7], ['b', null, 3, 4, 8]]);
  t.deepEqual(tableWrites([rec('x', 1, 0)], 0).map(([k]) => k), ['x'], 'without a callback: the record as it is');
});

test('input offsets: lag is null while the high-water mark (or, with records, the committed offset) is unknown; 0 for an empty partition', (t) => {
  t.deepEqual(inputOffsets(null, 10, undefined), { highWatermark: null, committed: 10, processed: 10, lag: null, pending: null });
  t.deepEqual(inputOffsets(50, null, undefined), { highWatermark: 50, committed: null, processed: null, lag: null, pending: null });
  t.deepEqual(inputOffsets(0, null, undefined), { highWatermark: 0, committed: null, processed: null, lag: 0, pending: 0 });
  t.deepEqual(inputOffsets(50, 20, 45), { highWatermark: 50, committed: 20, processed: 45, lag: 30, pending: 5 });
  t.is(inputOffsets(50, 60, undefined).lag, 0, 'a high-water mark read before the last commit never gives a negative lag');
  t.is(maxKnown(undefined, undefined), null);
  t.is(maxKnown(3, undefined), 3);
  t.is(maxKnown(3, 7), 7);
});

test('record batch: CRC-32C check value; a batch decodes with kafkajs to the same records (keys, null values, headers, timestamps)', async (t) => {
  t.is(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  const req = createRequire(import.meta.url);
  const Decoder = req('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
  const decodeBatch = req('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{ crc: number; records: { key: Buffer | null; value: Buffer | null; timestamp: string; offset: string; headers: Record<string, Buffer> }[] }>;
  const u = (s: string) => new TextEncoder().encode(s);
  const ts = 1_764_590_000_000;
  const records = [
    { topic: 't', partition: 0, key: u('k1'), value: u('v'.repeat(300)), timestamp: ts },
    { topic: 't', partition: 0, key: null, value: null, timestamp: ts - 5 },
    { topic: 't', partition: 0, key: u('k3'), value: u('three'), headers: { origin: u('a'), 'empty-value': new Uint8Array(0) }, timestamp: ts + 70_000 },
  ];
  const bytes = encodeRecordBatch(records);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  t.is(view.getUint32(17), crc32c(bytes, 21, bytes.length));
  const batch = await decodeBatch(new Decoder(Buffer.from(bytes)));
  t.is(batch.records.length, 3);
  t.deepEqual(batch.records.map((r) => r.key?.toString() ?? null), ['k1', null, 'k3']);
  t.deepEqual(batch.records.map((r) => r.value?.toString() ?? null), ['v'.repeat(300), null, 'three']);
  t.deepEqual(batch.records.map((r) => Number(r.timestamp)), [ts, ts - 5, ts + 70_000]);
  t.deepEqual(batch.records.map((r) => Number(r.offset)), [0, 1, 2]);
  t.is(batch.records[2]!.headers['origin']!.toString(), 'a');
  t.is(batch.records[2]!.headers['empty-value']!.length, 0);
});
