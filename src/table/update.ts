// Goka's update callback: what a table stores for a changelog record when it is restored or
// followed (the group table, joined and looked-up tables, views). Default: the record's value,
// a tombstone deletes. It is not called for a processor's own ctx.setValue writes.
import { decodeWith, encodeWith, type Codec } from '../codec/codec.js';
import type { PartitionStore, StoreKey } from '../storage/storage.js';
import { decodeUtf8 } from '../codec/utf8.js';
import { LastByKey } from './last-by-key.js';
import { decodeRecordBatches, forEachRecord } from '../kafka/record-batch.js';

export interface TableUpdate<T> {
  key: string;
  /** The record's value (null: a tombstone). */
  value: T | null;
  /** The stored value before this record. */
  previous: T | undefined;
  partition: number;
  offset: number;
}

/** Returns the value to store, or null to delete the key. */
export type UpdateCallback<T> = (update: TableUpdate<T>) => T | null;

export interface ChangelogRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  offset: number;
}


/**
 * The store writes for a chunk of changelog records: one per key, the last (a chunk is applied
 * in one transaction, so the writes a later record of the same key replaces would be lost work:
 * a changelog read before compaction holds several generations of a key). With an update
 * callback, `previous` sees the writes of earlier records of the same chunk, not only what the
 * store held before it.
 */
export function tableWrites(
  records: readonly ChangelogRecord[],
  partition: number,
  update?: { codec: Codec<unknown>; onUpdate: UpdateCallback<unknown>; get(key: string): Uint8Array | undefined },
): Map<string, Uint8Array | null> {
  const pending = new Map<string, Uint8Array | null>();
  for (const r of records) {
    const key = r.key === null ? '' : decodeUtf8(r.key, false);
    if (!update) {
      pending.set(key, r.value);
      continue;
    }
    const before = pending.has(key) ? pending.get(key) : update.get(key);
    const next = update.onUpdate({
      key,
      value: r.value === null ? null : decodeWith(update.codec, r.value),
      previous: before === null || before === undefined ? undefined : decodeWith(update.codec, before),
      partition,
      offset: r.offset,
    });
    pending.set(key, next === null || next === undefined ? null : encodeWith(update.codec, next));
  }
  return pending;
}

/**
 * tableWrites without an update callback for records still in their fetched batches, read in
 * place (see LastByKey): one write per key, the last, in key order.
 */
export function batchWrites(bytes: Uint8Array, from: number, to: number): Iterable<[StoreKey, Uint8Array | null]> {
  // A record takes 7 bytes at least; the offsets bound the count unless the range is open.
  const last = new LastByKey(bytes, Math.min(to - from, bytes.length / 7));
  forEachRecord(bytes, from, to, (_offset, _timestamp, keyAt, keyLength, valueAt, valueLength) => last.add(keyAt, keyLength, valueAt, valueLength));
  return last.writes();
}

/** A table's codec and update callback (a table without a callback needs neither). */
export interface TableUpdater {
  codec: Codec<unknown>;
  onUpdate: UpdateCallback<unknown>;
}

/**
 * applyChangelog for records still in their fetched batches (those in [from, to); `last` is the
 * last one's offset): read in place without an update callback, decoded for one.
 */
export function applyBatches(
  store: PartitionStore, batches: { bytes: Uint8Array; from: number; to: number }, last: number, partition: number, update?: TableUpdater,
): Promise<void> {
  const { bytes, from, to } = batches;
  if (!update) return store.apply(batchWrites(bytes, from, to), last);
  return applyChangelog(store, decodeRecordBatches(bytes, from, to), partition, update);
}

/** Applies a chunk of changelog records to a store: their writes and, atomically, the last offset as checkpoint. */
export function applyChangelog(store: PartitionStore, records: readonly ChangelogRecord[], partition: number, update?: TableUpdater): Promise<void> {
  const writes = tableWrites(records, partition, update && { ...update, get: (k) => store.get(k) });
  return store.apply(writes, records[records.length - 1]!.offset);
}
