import { join } from 'node:path';
import { LmdbStore } from './lmdb.js';
import { MemoryStore } from './memory.js';
import type { PartitionStore, StorageSpec } from './storage.js';

export function openStore(spec: StorageSpec, table: string, partition: number): PartitionStore {
  return spec.kind === 'memory' ? new MemoryStore() : new LmdbStore(join(spec.path, `${table}.${partition}`));
}
