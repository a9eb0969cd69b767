// A whole table (every partition) in ONE LMDB environment, for lookups: the main thread writes
// it from the changelog, every worker thread of the process opens the same environment and
// reads it synchronously (LMDB serves many readers; lmdb-js renews a reader's snapshot on every
// event-loop turn, so readers see the writer's commits). Keys of a compacted table are unique
// across partitions, so they share one key space; each partition keeps its own checkpoint.
import type { Database, RootDatabase } from 'lmdb';
import { openTableEnv } from './lmdb.js';
import type { PartitionStore } from './storage.js';

export class SharedTableStore {
  readonly #root: RootDatabase;
  readonly #data: Database<Uint8Array, string>;
  readonly #meta: Database<number, string>;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    ({ root: this.#root, data: this.#data, meta: this.#meta } = openTableEnv(path));
  }

  get(key: string): Uint8Array | undefined {
    return this.#data.getBinary(key) ?? undefined;
  }

  count(): number {
    return this.#data.getCount();
  }

  /** The writer's view of one partition; `owns(key)` tells the partition's keys (for a wipe). */
  partition(p: number, owns: (key: string) => boolean): PartitionStore {
    const cp = `checkpoint:${p}`;
    const root = this.#root;
    const data = this.#data;
    const meta = this.#meta;
    return {
      get: (key) => data.getBinary(key) ?? undefined,
      checkpoint: () => {
        const c = meta.get(cp);
        return typeof c === 'number' ? c : null;
      },
      apply: async (writes, checkpoint) => {
        await root.transaction(() => {
          for (const [k, v] of writes) {
            if (v === null) data.remove(k);
            else data.put(k, v);
          }
          meta.put(cp, checkpoint);
        });
      },
      clear: async () => {
        await root.transaction(() => {
          for (const { key } of data.getRange({})) if (owns(key)) data.remove(key);
          meta.remove(cp);
        });
      },
      *entries(range = {}) {
        for (const { key, value } of data.getRange(range)) if (owns(key)) yield [key, value];
      },
      count: () => data.getCount(),
      close: async () => undefined, // the environment is closed once, by its owner
    };
  }

  async close(): Promise<void> {
    await this.#root.close();
  }
}
