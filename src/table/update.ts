// Goka's update callback: what a table stores for a changelog record when it is restored or
// followed (the group table, joined and looked-up tables, views). Default: the record's value,
// a tombstone deletes. It is not called for a processor's own ctx.setValue writes.
import { decodeWith, encodeWith, type Codec } from '../codec/codec.js';
import type { PartitionStore } from '../storage/storage.js';

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

const utf8 = new TextDecoder();

/**
 * The store writes for a chunk of changelog records. With an update callback, `previous` sees
 * the writes of earlier records of the same chunk, not only what the store held before it.
 */
export function tableWrites(
  records: readonly ChangelogRecord[],
  partition: number,
  update?: { codec: Codec<unknown>; onUpdate: UpdateCallback<unknown>; get(key: string): Uint8Array | undefined },
): [string, Uint8Array | null][] {
  if (!update) return records.map((r) => [r.key === null ? '' : utf8.decode(r.key), r.value]);
  const pending = new Map<string, Uint8Array | null>();
  return records.map((r) => {
    const key = r.key === null ? '' : utf8.decode(r.key);
    const before = pending.has(key) ? pending.get(key) : update.get(key);
    const next = update.onUpdate({
      key,
      value: r.value === null ? null : decodeWith(update.codec, r.value),
      previous: before === null || before === undefined ? undefined : decodeWith(update.codec, before),
      partition,
      offset: r.offset,
    });
    const bytes = next === null || next === undefined ? null : encodeWith(update.codec, next);
    pending.set(key, bytes);
    return [key, bytes];
  });
}

/** A table's codec and update callback (a table without a callback needs neither). */
export interface TableUpdater {
  codec: Codec<unknown>;
  onUpdate: UpdateCallback<unknown>;
}

/** Applies a chunk of changelog records to a store: their writes and, atomically, the last offset as checkpoint. */
export function applyChangelog(store: PartitionStore, records: readonly ChangelogRecord[], partition: number, update?: TableUpdater): Promise<void> {
  const writes = tableWrites(records, partition, update && { ...update, get: (k) => store.get(k) });
  return store.apply(writes, records[records.length - 1]!.offset);
}
