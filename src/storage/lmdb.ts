import type * as Lmdb from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { StorageError } from '../errors.js';
import type { PartitionStore, StoreKey } from './storage.js';

// lmdb's CommonJS build is one file; its ES module build is some 25 modules with msgpackr's, each
// resolved, read and compiled again in every actor thread: ~25 ms more of each thread's start.
const { open } = createRequire(import.meta.url)('lmdb') as typeof Lmdb;

const CHECKPOINT = 'checkpoint';
const APPEND = { append: true } as const;

export interface TableEnv {
  root: RootDatabase;
  /** Keys → value bytes. */
  data: Database<Uint8Array, string>;
  /** Checkpoints, apart from the data so that no user key can collide with one. */
  meta: Database<number, string>;
}

/**
 * Opens (creating it) the LMDB environment of a table store at `path`. The changelog is the
 * durable copy: after a crash it is re-read from the checkpoint, so commits need not wait for
 * fsync; LMDB stays consistent on a process crash.
 */
export function openTableEnv(path: string): TableEnv {
  try {
    mkdirSync(path, { recursive: true });
    const root = open({ path: join(path, 'table.mdb'), maxDbs: 4, noSync: true });
    return {
      root,
      data: root.openDB<Uint8Array, string>({ name: 'data', encoding: 'binary', keyEncoding: 'ordered-binary' }),
      meta: root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' }),
    };
  } catch (err) {
    throw new StorageError(`cannot open LMDB at ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A partition's share of an environment that holds several (see SharedTableStore). */
export interface EnvShare {
  env: TableEnv;
  checkpointKey: string;
  /** The partition's keys, for clear() and entries(). */
  owns(key: string): boolean;
}

/**
 * One LMDB environment per partition (`<dir>/<table>.<partition>`): independent commits, and a
 * partition is one directory to drop or move. Data and checkpoint live in two named databases
 * of that environment, so no user key can collide with the checkpoint. Given a share instead,
 * the store is one partition's view of a shared environment, which it does not close.
 */
export class LmdbStore implements PartitionStore {
  readonly #root: RootDatabase;
  readonly #data: Database<Uint8Array, string>;
  readonly #meta: Database<number, string>;
  readonly #checkpointKey: string;
  readonly #share: EnvShare | undefined;
  readonly path: string;

  constructor(path: string, share?: EnvShare) {
    this.path = path;
    this.#share = share;
    this.#checkpointKey = share?.checkpointKey ?? CHECKPOINT;
    ({ root: this.#root, data: this.#data, meta: this.#meta } = share?.env ?? openTableEnv(path));
  }

  get(key: string): Uint8Array | undefined {
    return this.#data.getBinary(key) ?? undefined;
  }

  checkpoint(): number | null {
    const c = this.#meta.get(this.#checkpointKey);
    return typeof c === 'number' ? c : null;
  }

  async apply(writes: Iterable<readonly [StoreKey, Uint8Array | null]>, checkpoint: number): Promise<void> {
    await this.#root.transaction(() => {
      // Into an empty table (a rebuild) the writes of a restore come in key order: appended, LMDB
      // adds them at the end of the tree instead of searching it for each (10–40 % less per write
      // in a microbenchmark). An append refused (a key not after the last one) is written the
      // usual way, and so is everything after it: the order is a hint, never trusted.
      let append = this.#isEmpty();
      // A key given as bytes (StoreKey) is ordered-binary's own encoding of its string: written as is.
      for (const [k, v] of writes) {
        if (v === null) this.#data.remove(k as string);
        else if (!(append && (append = this.#appended(k, v)))) this.#data.put(k as string, v);
      }
      this.#meta.put(this.#checkpointKey, checkpoint);
    });
  }

  /** An append in the open transaction; false when LMDB refused it (the key is not after the last). */
  #appended(k: StoreKey, v: Uint8Array): boolean {
    // lmdb's README documents putSync's result (false: not written); its typings say void.
    return (this.#data.putSync(k as string, v, APPEND) as unknown) === true;
  }

  /** No key at all in the data database (of a shared environment too), as the open transaction sees it. */
  #isEmpty(): boolean {
    for (const _ of this.#data.getKeys({ limit: 1 })) return false;
    return true;
  }

  async clear(): Promise<void> {
    const share = this.#share;
    await this.#root.transaction(() => {
      if (share) for (const { key } of this.#data.getRange({})) { if (share.owns(key)) this.#data.remove(key); }
      else this.#data.clearSync();
      this.#meta.remove(this.#checkpointKey);
    });
  }

  *entries(range: { start?: string; end?: string } = {}): Iterable<[string, Uint8Array]> {
    const opts: { start?: string; end?: string } = {};
    if (range.start !== undefined) opts.start = range.start;
    if (range.end !== undefined) opts.end = range.end;
    for (const { key, value } of this.#data.getRange(opts)) if (!this.#share || this.#share.owns(key)) yield [key, value];
  }

  count(): number {
    return this.#data.getCount();
  }

  async close(): Promise<void> {
    if (!this.#share) await this.#root.close();
  }
}
