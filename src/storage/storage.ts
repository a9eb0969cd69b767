import { decodeUtf8 } from '../codec/utf8.js';

/**
 * A key as its string, or as its bytes when they are printable ASCII (0x20–0x7E, at least one:
 * a changelog read in place, whose key bytes are then the string's own characters). Such bytes
 * are also what LMDB's ordered-binary key encoding writes for that string, so LMDB takes them as
 * they are; a store that keeps strings reads them with keyString.
 */
export type StoreKey = string | Uint8Array;

/** Whether `b[start..end)` is a key StoreKey may carry as bytes. */
export function isPrintable(b: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** The string of a StoreKey. */
export function keyString(k: StoreKey): string {
  return typeof k === 'string' ? k : decodeUtf8(k, false);
}

/**
 * One partition of a table, local to the thread that owns the partition. The checkpoint is
 * the changelog offset of the last record the data reflects; it is written in the same
 * transaction as that data, so the two can never disagree.
 */
export interface PartitionStore {
  get(key: string): Uint8Array | undefined;
  checkpoint(): number | null;
  /** Applies writes (null value = delete) and the new checkpoint atomically. */
  apply(writes: Iterable<readonly [StoreKey, Uint8Array | null]>, checkpoint: number): Promise<void>;
  /** Removes every key and the checkpoint. */
  clear(): Promise<void>;
  /** Snapshot iteration in key order. */
  entries(range?: { start?: string; end?: string }): Iterable<[string, Uint8Array]>;
  count(): number;
  close(): Promise<void>;
}

export type StorageSpec = { kind: 'lmdb'; path: string } | { kind: 'memory' };
