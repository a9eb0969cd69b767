// A whole table (every partition) in ONE LMDB environment, for lookups: the main thread writes
// it from the changelog, every worker thread of the process opens the same environment and
// reads it synchronously (LMDB serves many readers; lmdb-js renews a reader's snapshot on every
// event-loop turn, so readers see the writer's commits). Keys of a compacted table are unique
// across partitions, so they share one key space; each partition keeps its own checkpoint.
import { LmdbStore, openTableEnv, type TableEnv } from './lmdb.js';
import type { PartitionStore } from './storage.js';

export class SharedTableStore {
  readonly #env: TableEnv;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.#env = openTableEnv(path);
  }

  get(key: string): Uint8Array | undefined {
    return this.#env.data.getBinary(key) ?? undefined;
  }

  count(): number {
    return this.#env.data.getCount();
  }

  /** The writer's view of one partition; `owns(key)` tells the partition's keys (for a wipe). */
  partition(p: number, owns: (key: string) => boolean): PartitionStore {
    return new LmdbStore(this.path, { env: this.#env, checkpointKey: `checkpoint:${p}`, owns });
  }

  async close(): Promise<void> {
    await this.#env.root.close();
  }
}
