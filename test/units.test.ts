// Pure logic: the co-partitioning plan, lifecycle transitions, the in-memory store.
import test, { type ExecutionContext } from 'ava';
import { LmdbStore } from '../src/storage/lmdb.js';
import type { PartitionStore, StoreKey } from '../src/storage/storage.js';
import { tempDir } from './helpers.js';
import { copartitionPlan } from '../src/kafka/copartition.js';
import { Lifecycle, ACTOR_TRANSITIONS } from '../src/runtime/lifecycle.js';
import { MemoryStore } from '../src/storage/memory.js';
import { InvalidArgumentError, StateError } from '../src/errors.js';
import { codecs, defineGroup, Emitter, input, Processor, View } from '../src/index.js';
import { tableWrites } from '../src/table/update.js';
import { inputOffsets, maxKnown } from '../src/runtime/supervisor/input-offsets.js';
import { crc32c, decodeRecordBatches, encodeRecordBatch, summarizeBatches } from '../src/kafka/record-batch.js';
import { batchWrites } from '../src/table/update.js';
import { keyString } from '../src/storage/storage.js';
import { InputQueue } from '../src/runtime/actor/input-queue.js';
import { placeActor } from '../src/runtime/supervisor/thread-pool.js';
import { MemoryKafka } from '../src/tester/memory-kafka.js';
import { RecordKind, type WireRecord } from '../src/runtime/wire.js';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
  // A key given as its bytes (a changelog read in place) is the same key as its string.
  await s.apply([[b('key-7 ~'), b('x')], [b('a'), null]], 42);
  t.deepEqual([...s.entries()].map(([k, v]) => [k, new TextDecoder().decode(v)]), [['c', '3'], ['key-7 ~', 'x']]);
  t.deepEqual([...s.get('key-7 ~')!], [...b('x')]);
  await s.apply([['key-7 ~', null]], 43);
  t.is(s.get('key-7 ~'), undefined, 'and a string deletes it');
  await s.clear();
  t.is(s.checkpoint(), null);
  await s.close();
});

test('lmdb store: a rebuild into an empty table appends keys in order; a key out of order, a repeat or a non-empty table is written as usual', async (t) => {
  const b = (x: string) => new TextEncoder().encode(x);
  const text = (s: PartitionStore) => [...s.entries()].map(([k, v]) => `${k}=${new TextDecoder().decode(v)}`);
  // In order (as a restore writes them), as bytes and as strings, with a tombstone among them.
  const s = new LmdbStore(tempDir(t));
  const keys = Array.from({ length: 2000 }, (_, i) => `key-${String(i).padStart(5, '0')}`);
  await s.apply(keys.map((k, i) => [i % 2 ? b(k) : k, i === 7 ? null : b(String(i))] as const), 1999);
  t.is(s.count(), 1999);
  t.is(s.get('key-00007'), undefined);
  t.deepEqual([...s.get('key-01999')!], [...b('1999')]);
  // Out of order, repeated and descending keys into an empty table: every write lands, the last one per key.
  const u = new LmdbStore(tempDir(t));
  await u.apply([['m', b('1')], ['z', b('2')], ['c', b('3')], ['z', b('4')], [b('y'), b('5')], ['a', b('6')]], 5);
  t.deepEqual(text(u), ['a=6', 'c=3', 'm=1', 'y=5', 'z=4']);
  // A table that already holds keys, given keys before, between and after them.
  await u.apply([['0', b('7')], ['b', b('8')], ['zz', b('9')], ['m', b('10')]], 9);
  t.deepEqual(text(u), ['0=7', 'a=6', 'b=8', 'c=3', 'm=10', 'y=5', 'z=4', 'zz=9']);
  t.is(u.checkpoint(), 9);
  await s.close();
  await u.close();
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
  t.deepEqual([...writes].map(([k, v]) => [k, v === null ? null : JSON.parse(new TextDecoder().decode(v))]), [['a', 13], ['b', null]], 'one write per key: the last');
  t.deepEqual(seen, [['a', 1, 10, 4, 5], ['a', 2, 11, 4, 6], ['b', 3, undefined, 4, 7], ['b', null, 3, 4, 8]]);
  const plain = tableWrites([rec('x', 1, 0), rec('y', 2, 1), rec('x', 3, 2)], 0);
  t.deepEqual([...plain].map(([k, v]) => [k, new TextDecoder().decode(v!)]), [['x', '3'], ['y', '2']], 'without a callback: the last record of each key as it is');
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

/** A record batch of `values` (keyed by `keys`) at `base`, with header fields patched as a broker would write them. */
function batchAt(base: number, keys: (string | null)[], values: (string | null)[], patch: { attributes?: number; lastOffsetDelta?: number; maxTimestamp?: number } = {}): Uint8Array {
  const u = (x: string | null) => (x === null ? null : new TextEncoder().encode(x));
  const b = encodeRecordBatch(keys.map((k, i) => ({ topic: 't', partition: 0, key: u(k), value: u(values[i]!), timestamp: 1_000 + i })));
  const v = new DataView(b.buffer, b.byteOffset);
  v.setBigInt64(0, BigInt(base));
  if (patch.attributes !== undefined) v.setInt16(21, patch.attributes);
  if (patch.lastOffsetDelta !== undefined) v.setInt32(23, patch.lastOffsetDelta);
  if (patch.maxTimestamp !== undefined) v.setBigInt64(35, BigInt(patch.maxTimestamp));
  return b;
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

test('record batches read in place: ranges, a cut-off last batch, compaction gaps, control and compressed batches, LogAppendTime', (t) => {
  const first = batchAt(10, ['a', 'b', null], ['1', null, '3']);
  const second = batchAt(13, ['a', 'c'], ['4', '5']);
  const cut = batchAt(15, ['d'], ['6']).subarray(0, 40);
  const bytes = concat(first, second, cut);
  t.deepEqual(summarizeBatches(bytes, 0, Infinity), { count: 5, last: 14, end: 15, plain: true }, 'the cut-off batch is left for the next read');
  t.deepEqual(summarizeBatches(bytes, 11, 14), { count: 3, last: 13, end: 15, plain: true });
  const recs = decodeRecordBatches(bytes, 11, Infinity);
  t.deepEqual(recs.map((r) => [r.offset, text(r.key), text(r.value), r.timestamp]), [[11, 'b', null, 1_001], [12, null, '3', 1_002], [13, 'a', '4', 1_000], [14, 'c', '5', 1_001]]);
  t.deepEqual([...batchWrites(bytes, 0, Infinity)].map(([k, v]) => [keyString(k), text(v)]), [['', '3'], ['a', '4'], ['b', null], ['c', '5']], 'the last value per key, in key order; a null key is the empty key');

  // Compaction removed offsets 21-22 (the header still ends the batch at 22): the last record is 20.
  const gap = batchAt(19, ['x', 'y'], ['1', '2'], { lastOffsetDelta: 3 });
  t.deepEqual(summarizeBatches(gap, 0, Infinity), { count: 2, last: 20, end: 23, plain: true });
  const control = batchAt(23, ['ctl'], ['0'], { attributes: 0x20 });
  t.deepEqual(summarizeBatches(concat(gap, control), 0, Infinity), { count: 2, last: 20, end: 24, plain: true }, 'a control batch moves the read on, holds no record');
  t.deepEqual(decodeRecordBatches(control, 0, Infinity), []);
  t.false(summarizeBatches(batchAt(0, ['k'], ['v'], { attributes: 1 }), 0, Infinity).plain, 'gzip: left to kafkajs');
  const appended = decodeRecordBatches(batchAt(0, ['k', 'l'], ['v', 'w'], { attributes: 0x08, maxTimestamp: 99_000 }), 0, Infinity);
  t.deepEqual(appended.map((r) => r.timestamp), [99_000, 99_000], 'LogAppendTime: the broker\'s time');
  const withHeaders = encodeRecordBatch([{ topic: 't', partition: 0, key: null, value: null, headers: { h: new TextEncoder().encode('x') } }]);
  t.is(text(decodeRecordBatches(withHeaders, 0, Infinity)[0]!.headers!['h']!), 'x');
});

test('an actor\'s input queue: decoded records and fetched batches in arrival order, read lazily, cleared with a count', (t) => {
  const q = new InputQueue(3);
  const wire = (offset: number): WireRecord => ({ kind: RecordKind.Input, topic: 'loop', partition: 3, offset, timestamp: 0, key: null, value: null, headers: undefined });
  t.is(q.peek(), undefined);
  q.pushBatches('in', concat(batchAt(10, ['a', 'b', 'c'], ['1', '2', '3']), batchAt(13, ['d'], ['4'])), 11, 14);
  q.pushRecords([wire(7), wire(8)]);
  q.pushRecords([]);
  q.pushBatches('in', batchAt(14, ['e'], ['5'], { attributes: 0x08, maxTimestamp: 42 }), 14, Infinity);
  t.is(q.peek()?.offset, 11, 'peek does not take');
  const got: (string | number | null)[][] = [];
  for (let r = q.take(); r; r = q.take()) got.push([r.topic, r.partition, r.offset, text(r.key), text(r.value), r.timestamp]);
  t.deepEqual(got, [['in', 3, 11, 'b', '2', 1_001], ['in', 3, 12, 'c', '3', 1_002], ['in', 3, 13, 'd', '4', 1_000], ['loop', 3, 7, null, null, 0], ['loop', 3, 8, null, null, 0], ['in', 3, 14, 'e', '5', 42]]);
  // A queue that never runs dry (a steady backlog) keeps only what it has not read.
  for (let i = 0; i < 100; i++) {
    q.pushBatches('in', batchAt(100 + 2 * i, ['x', 'y'], ['1', '2']), 0, Infinity);
    t.is(q.take()?.offset, 100 + i);
  }
  t.is(q.clear(), 100, 'the records not taken');
  t.is(q.take(), undefined);
});

test('batchWrites: the last value of every key, as a Map of all records would keep it (thousands of keys, null and empty keys, non-ASCII keys)', (t) => {
  const enc = new TextEncoder();
  const keys = [null, '', 'ключ', 'ü', ...Array.from({ length: 1500 }, (_, i) => `k-${i}`)];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const records = Array.from({ length: 5000 }, (_, i) => {
    const k = keys[next() % keys.length]!;
    return { topic: 't', partition: 0, key: k === null ? null : enc.encode(k), value: i % 97 === 0 ? null : enc.encode(`v${i}`) };
  });
  const bytes = concat(encodeRecordBatch(records.slice(0, 2500)), (() => {
    const b = encodeRecordBatch(records.slice(2500));
    new DataView(b.buffer, b.byteOffset).setBigInt64(0, 2500n);
    return b;
  })());
  const expected = new Map<string, string | null>();
  for (const r of records) expected.set(r.key === null ? '' : new TextDecoder().decode(r.key), text(r.value));
  const writes = [...batchWrites(bytes, 0, Infinity)];
  const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
  t.deepEqual(writes.map(([k, v]) => [keyString(k), text(v)] as const).sort(byKey), [...expected].sort(byKey));
  const asBytes = writes.filter(([k]) => typeof k !== 'string').map(([k]) => keyString(k));
  t.deepEqual(asBytes, Array.from({ length: 1500 }, (_, i) => `k-${i}`).filter((k) => expected.has(k)).sort(), 'printable keys come as their bytes, in key order');
  t.deepEqual(writes.filter(([k]) => typeof k === 'string').map(([k]) => k).sort(), ['', 'ключ', 'ü'].filter((k) => expected.has(k)).sort(), 'the others as strings');
  t.deepEqual([...batchWrites(bytes, 2500, 2600)].length, new Set(records.slice(2500, 2600).map((r) => (r.key === null ? '' : new TextDecoder().decode(r.key)))).size, 'only the records in range');
});

test('ChangelogApplier: chunks of a restore held and applied together, one write per key; a budget, decoded records and a wipe in between', async (t) => {
  const { ChangelogApplier } = await import('../src/table/update.js');
  const enc = new TextEncoder();
  const keys = [null, 'ключ', 'ü', ...Array.from({ length: 300 }, (_, i) => `k-${i}`)];
  let seed = 11;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const records = Array.from({ length: 3000 }, (_, i) => {
    const k = keys[next() % keys.length]!;
    return { topic: 't', partition: 0, key: k === null ? null : enc.encode(k), value: i % 89 === 0 ? null : enc.encode(`v${i}`) };
  });
  // Six chunks, each its own buffer as each fetch is: every one repeats most keys.
  const chunks = Array.from({ length: 6 }, (_, c) => {
    const b = encodeRecordBatch(records.slice(c * 500, (c + 1) * 500));
    new DataView(b.buffer, b.byteOffset).setBigInt64(0, BigInt(c * 500));
    return { bytes: b, from: c * 500, to: (c + 1) * 500, last: (c + 1) * 500 - 1 };
  });
  const expected = new Map<string, string>();
  for (const r of records) {
    const k = r.key === null ? '' : new TextDecoder().decode(r.key);
    if (r.value === null) expected.delete(k);
    else expected.set(k, text(r.value)!);
  }
  const sorted = new Map([...expected].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  class Counting extends MemoryStore {
    applies = 0;
    writes = 0;
    override async apply(writes: Iterable<readonly [StoreKey, Uint8Array | null]>, checkpoint: number): Promise<void> {
      const all = [...writes];
      this.applies++;
      this.writes += all.length;
      const order = all.map(([k]) => keyString(k));
      const plain = order.filter((k) => /^[\x20-\x7e]*$/.test(k) && k !== '');
      t.deepEqual(plain, [...plain].sort(), 'printable keys in key order across the chunks\' buffers');
      return super.apply(all, checkpoint);
    }
  }
  const contents = (s: MemoryStore) => new Map([...s.entries()].map(([k, v]) => [k, text(v)!]));

  const held = new Counting();
  const a = new ChangelogApplier(held, 0);
  for (const c of chunks) await a.batches(c, c.last, true);
  t.is(held.applies, 0, 'nothing applied while held');
  t.is(held.checkpoint(), null);
  await a.flush();
  t.is(held.applies, 1);
  t.is(held.writes, new Set(records.map((r) => (r.key === null ? '' : new TextDecoder().decode(r.key)))).size, 'one write per distinct key over all chunks');
  t.is(held.checkpoint(), 2999);
  t.deepEqual(contents(held), sorted);
  await a.flush();
  t.is(held.applies, 1, 'a second flush has nothing to apply');

  // Chunk by chunk (no hold, or a budget smaller than a chunk): the same contents, one apply each.
  for (const [hold, budget] of [[false, undefined], [true, 1]] as const) {
    const each = new Counting();
    const b = new ChangelogApplier(each, 0, undefined, budget);
    for (const c of chunks) {
      await b.batches(c, c.last, hold);
      t.is(each.checkpoint(), c.last, 'applied with its chunk');
    }
    t.is(each.applies, 6);
    t.true(each.writes > held.writes);
    t.deepEqual(contents(each), sorted);
  }

  // Decoded records (a compressed chunk) after held ones: the held ones go first.
  const mixed = new MemoryStore();
  const m = new ChangelogApplier(mixed, 0);
  await m.batches(chunks[0]!, chunks[0]!.last, true);
  await m.records([{ key: enc.encode('k-1'), value: enc.encode('later'), offset: 500 }]);
  t.is(text(mixed.get('k-1')!), 'later');
  t.is(mixed.checkpoint(), 500);

  // A wipe drops what is held: it never reaches the store.
  const wiped = new MemoryStore();
  const w = new ChangelogApplier(wiped, 0);
  await w.batches(chunks[0]!, chunks[0]!.last, true);
  w.drop();
  await w.flush();
  t.is(wiped.count(), 0);
  t.is(wiped.checkpoint(), null);
});

test('effects producer: packed effects become one record batch per partition, requests stay bounded and ordered, each batch gets its last changelog offset', async (t) => {
  const { EffectsProducer } = await import('../src/runtime/supervisor/effects-producer.js');
  const { BatchWriter, RecordKind } = await import('../src/runtime/wire.js');
  const { hashers } = await import('../src/hashers.js');
  const enc = new TextEncoder();
  // Three actor batches of 400 table writes (3 KiB values: a batch is more than one 900 KiB request)
  // and 100 keyed emits with a header; batch 2 writes no table record.
  const batches = [0, 1, 2].map((b) => {
    const w = new BatchWriter(1024);
    for (let i = 0; i < 400 && b !== 2; i++) w.add({ kind: RecordKind.Table, topic: 'g-table', partition: 3, offset: -1, timestamp: 1_000 + i, key: enc.encode(`k${i}`), value: new Uint8Array(3072).fill(b), headers: undefined });
    for (let i = 0; i < 100; i++) w.add({ kind: RecordKind.Emit, topic: 'out', partition: -1, offset: -1, timestamp: 2_000 + i, key: enc.encode(`e${b}-${i}`), value: enc.encode(`v${i}`), headers: { h: enc.encode(`${b}`) } });
    return w.finish();
  });
  for (const direct of [true, false]) {
    const requests: { topic: string; partition: number; key: string; value: Uint8Array | null; ts: number | undefined; h: string | undefined }[][] = [];
    const next = new Map<string, number>();
    const ack = (recs: { topic: string; partition: number }[]) => {
      const acks = new Map<string, { topic: string; partition: number; baseOffset: number; n: number }>();
      for (const r of recs) {
        const id = `${r.topic}/${r.partition}`;
        const a = acks.get(id) ?? { topic: r.topic, partition: r.partition, baseOffset: next.get(id) ?? 0, n: 0 };
        a.n++;
        acks.set(id, a);
      }
      for (const [id, a] of acks) next.set(id, a.baseOffset + a.n);
      return [...acks.values()];
    };
    const producer = {
      async send(records: import('../src/kafka/ports.js').OutRecord[]) {
        requests.push(records.map((r) => ({ topic: r.topic, partition: r.partition, key: text(r.key)!, value: r.value, ts: r.timestamp, h: r.headers?.['h'] ? text(r.headers['h']) ?? undefined : undefined })));
        return ack(records);
      },
      async close() {},
      ...(direct ? {
        async sendBatches(bs: import('../src/kafka/ports.js').EncodedBatches) {
          const recs = [...bs].flatMap(([topic, parts]) => [...parts].flatMap(([partition, bytes]) => decodeRecordBatches(bytes, 0, Infinity).map((r) => ({ topic, partition, key: text(r.key)!, value: r.value, ts: r.timestamp, h: r.headers?.['h'] ? text(r.headers['h']) ?? undefined : undefined }))));
          requests.push(recs);
          return ack(recs);
        },
      } : {}),
    };
    const failures: Error[] = [];
    const ep = new EffectsProducer({ group: 'g', partition: 3, tableTopic: 'g-table', producer, hasher: hashers.murmur2, partitionsOf: () => 4, fail: (e) => failures.push(e) });
    const acked: (number | null)[] = [];
    const produced: Map<string, number>[] = [];
    batches.forEach((buffer, b) => ep.enqueue(buffer, b === 2 ? 0 : 400, [], (offset, p) => { acked.push(offset); produced.push(p); }));
    await ep.idle();
    t.deepEqual(failures, []);
    t.true(requests.length >= 2, `${direct ? 'sendBatches' : 'send'}: split into ${requests.length} requests`);
    for (const req of requests) t.true(req.reduce((n, r) => n + (r.value?.byteLength ?? 0), 0) <= 900 * 1024, 'a request stays under the bound');
    const all = requests.flat();
    t.is(all.length, 1_100);
    const table = all.filter((r) => r.topic === 'g-table');
    t.deepEqual(table.map((r) => r.key), [...Array.from({ length: 400 }, (_, i) => `k${i}`), ...Array.from({ length: 400 }, (_, i) => `k${i}`)], 'changelog records in order');
    t.deepEqual(table.map((r) => r.value![0]), [...Array<number>(400).fill(0), ...Array<number>(400).fill(1)]);
    t.is(table[399]!.ts, 1_399);
    t.deepEqual(acked, [399, 799, null], 'each batch: the offset of its last changelog record');
    t.deepEqual(produced.map((p) => Object.fromEntries(p)), [{ 'g-table': 400, out: 100 }, { 'g-table': 400, out: 100 }, { out: 100 }]);
    for (const r of all.filter((x) => x.topic === 'out')) t.is(r.partition, hashers.murmur2(enc.encode(r.key), 4), `${r.key} goes where the hasher says`);
    const emits = all.filter((x) => x.topic === 'out');
    t.is(emits.length, 300);
    t.true(emits.every((r) => r.h === r.key.slice(1, 2)), 'every emit keeps its header');
  }
});

test('broker lists are checked where they are given: Processor, Emitter and View reject a bad one with InvalidArgumentError', (t) => {
  const bad: unknown[] = [[], ['localhost'], [undefined], ['kafka:0'], ['kafka:70000'], ['a b:9092'], [9092]];
  const make: [string, (brokers: string[]) => unknown][] = [
    ['Processor', (brokers) => new Processor({ brokers, group: defineGroup('g', [input('in', codecs.string, () => undefined)]), workers: 0 })],
    ['Emitter', (brokers) => new Emitter({ brokers, topic: 't', codec: codecs.string })],
    ['View', (brokers) => new View({ brokers, table: 't', codec: codecs.string, storage: 'memory' })],
  ];
  for (const [name, fn] of make) {
    for (const brokers of bad) {
      const err = t.throws(() => fn(brokers as string[]), { instanceOf: InvalidArgumentError }, `${name} ${JSON.stringify(brokers)}`);
      t.regex(err!.message, new RegExp(`^${name}: brokers must`));
    }
    t.notThrows(() => fn(['kafka-1.example:9092', '10.0.0.7:19092', '[::1]:9092']), name);
  }
  // A custom client (the tester's) names its brokers as it likes; empty names stay an error.
  const kafkaClient = new MemoryKafka().client;
  t.notThrows(() => new Emitter({ brokers: ['tester'], topic: 't', codec: codecs.string, kafkaClient }));
  t.throws(() => new Emitter({ brokers: [''], topic: 't', codec: codecs.string, kafkaClient }), { instanceOf: InvalidArgumentError });
});

test('actor placement: fewest partitions first, then least backlog; never a dead thread or one holding the partition', (t) => {
  const host = (partitions: number[], backlog = 0, live = true) => ({ live, partitions: new Set(partitions), backlog });
  t.is(placeActor([host([0, 1]), host([2])], 3), 1, 'fewer partitions wins over backlog');
  t.is(placeActor([host([0], 9000), host([1], 500)], 2), 1, 'equal counts: the smaller backlog');
  t.is(placeActor([host([0]), host([], 0, false)], 1), 0, 'a dead thread gets nothing');
  t.is(placeActor([host([4]), host([0, 1, 2])], 4), 1, 'not the thread already holding the partition');
  t.is(placeActor([host([], 0, false)], 0), -1);
  // A skewed catch-up (two partitions with most of the records), placed largest backlog first
  // as the supervisor does: the two go to different threads, and the counts stay 3 and 3.
  const backlogs = [9000, 500, 9000, 500, 500, 500];
  const hosts = [host([]), host([])];
  for (const p of [0, 1, 2, 3, 4, 5].sort((a, b) => backlogs[b]! - backlogs[a]!)) {
    const i = placeActor(hosts, p);
    hosts[i] = host([...hosts[i]!.partitions, p], hosts[i]!.backlog + backlogs[p]!);
  }
  t.deepEqual(hosts.map((h) => h.backlog), [9000 + 1000, 9000 + 1000]);
  t.deepEqual(hosts.map((h) => h.partitions.size), [3, 3]);
});

test('the package index loads no Kafka client: worker threads import it and never talk to Kafka', (t) => {
  // A resolve hook that refuses the kafkajs seam and kafkajs itself, in a fresh process.
  const dir = tempDir(t);
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(spec, ctx, next) {
    const r = await next(spec, ctx);
    if (r.url.includes('/kafka/kafkajs/') || r.url.includes('/node_modules/kafkajs/')) throw new Error('loaded ' + r.url);
    return r;
  }`);
  const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
  const load = (url: URL) => spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', `await import(${JSON.stringify(url.href)})`], { encoding: 'utf8' });
  const index = load(new URL('../src/index.js', import.meta.url));
  t.is(index.status, 0, index.stderr);
  // The hook does refuse: the seam itself fails under it.
  const seam = load(new URL('../src/kafka/kafkajs/index.js', import.meta.url));
  t.not(seam.status, 0);
  t.regex(seam.stderr, /loaded .*\/kafka\/kafkajs\//);
});
