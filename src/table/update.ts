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

/** Adds the records of fetched batches in [from, to) to `last` (see LastByKey). */
function addBatches(last: LastByKey, bytes: Uint8Array, from: number, to: number): void {
  last.feed(bytes);
  forEachRecord(bytes, from, to, (_offset, _timestamp, keyAt, keyLength, valueAt, valueLength) => last.add(keyAt, keyLength, valueAt, valueLength));
}

/** A LastByKey for a chunk: a record takes 7 bytes at least; the offsets bound the count unless the range is open. */
const lastByKeyFor = (bytes: Uint8Array, from: number, to: number) => new LastByKey(bytes, Math.min(to - from, bytes.length / 7));

/**
 * tableWrites without an update callback for records still in their fetched batches, read in
 * place (see LastByKey): one write per key, the last, in key order.
 */
export function batchWrites(bytes: Uint8Array, from: number, to: number): Iterable<[StoreKey, Uint8Array | null]> {
  const last = lastByKeyFor(bytes, from, to);
  addBatches(last, bytes, from, to);
  return last.writes();
}

/** A table's codec and update callback (a table without a callback needs neither). */
export interface TableUpdater {
  codec: Codec<unknown>;
  onUpdate: UpdateCallback<unknown>;
}

/** Fetched bytes a restore holds at most before it applies them (see ChangelogApplier). */
const HOLD_BYTES = 16 * 1024 * 1024;

/**
 * Applies a table partition's changelog chunks to its store, in order. A chunk still in its
 * fetched batches may be held (`hold`) and applied with the ones after it, up to HOLD_BYTES of
 * fetched bytes or the next `flush`: the chunks of one restore each repeat most of the
 * partition's keys (a changelog before compaction), and one write per key over several chunks
 * is fewer puts, the largest part of a restore, than one per key per chunk. The checkpoint is
 * the last held offset, written with them, so a crash meanwhile only re-reads the held chunks.
 * With an update callback nothing is held: it sees every record, decoded.
 */
export class ChangelogApplier {
  readonly #store: PartitionStore;
  readonly #partition: number;
  readonly #update: TableUpdater | undefined;
  readonly #budget: number;
  #held: LastByKey | undefined;
  #heldBytes = 0;
  #heldLast = -1;

  constructor(store: PartitionStore, partition: number, update?: TableUpdater, budget = HOLD_BYTES) {
    this.#store = store;
    this.#partition = partition;
    this.#update = update;
    this.#budget = budget;
  }

  /** Records in [from, to) of fetched batches; `last` is the last one's offset. */
  batches(batches: { bytes: Uint8Array; from: number; to: number }, last: number, hold = false): Promise<void> {
    const { bytes, from, to } = batches;
    if (this.#update) return this.records(decodeRecordBatches(bytes, from, to));
    const held = (this.#held ??= lastByKeyFor(bytes, from, to));
    addBatches(held, bytes, from, to);
    this.#heldBytes += bytes.length;
    this.#heldLast = last;
    return hold && this.#heldBytes < this.#budget ? Promise.resolve() : this.flush();
  }

  /** Decoded records (after what is held). */
  async records(records: readonly ChangelogRecord[]): Promise<void> {
    await this.flush();
    if (records.length > 0) await applyChangelog(this.#store, records, this.#partition, this.#update);
  }

  /** Applies what is held. */
  flush(): Promise<void> {
    const held = this.#held;
    if (!held) return Promise.resolve();
    this.drop();
    return this.#store.apply(held.writes(), this.#heldLast);
  }

  /** Forgets what is held (the store was wiped). */
  drop(): void {
    this.#held = undefined;
    this.#heldBytes = 0;
  }
}

/** Applies a chunk of changelog records to a store: their writes and, atomically, the last offset as checkpoint. */
export function applyChangelog(store: PartitionStore, records: readonly ChangelogRecord[], partition: number, update?: TableUpdater): Promise<void> {
  const writes = tableWrites(records, partition, update && { ...update, get: (k) => store.get(k) });
  return store.apply(writes, records[records.length - 1]!.offset);
}
