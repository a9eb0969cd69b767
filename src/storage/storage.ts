/**
 * One partition of a table, local to the thread that owns the partition. The checkpoint is
 * the changelog offset of the last record the data reflects; it is written in the same
 * transaction as that data, so the two can never disagree.
 */
export interface PartitionStore {
  get(key: string): Uint8Array | undefined;
  checkpoint(): number | null;
  /** Applies writes (null value = delete) and the new checkpoint atomically. */
  apply(writes: Iterable<readonly [string, Uint8Array | null]>, checkpoint: number): Promise<void>;
  /** Removes every key and the checkpoint. */
  clear(): Promise<void>;
  /** Snapshot iteration in key order. */
  entries(range?: { start?: string; end?: string }): Iterable<[string, Uint8Array]>;
  count(): number;
  close(): Promise<void>;
}

export type StorageSpec = { kind: 'lmdb'; path: string } | { kind: 'memory' };
