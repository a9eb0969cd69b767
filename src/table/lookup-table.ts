// A looked-up table, materialised once per process: every partition restored into one shared
// LMDB environment before the processor consumes anything, then followed. Actors in any thread
// read it by path (SharedTableStore); only this thread writes it.
import { keyBytes } from '../codec/codec.js';
import type { Hasher } from '../hashers.js';
import type { KafkaClient, ReaderPort } from '../kafka/ports.js';
import type { Logger } from '../logger.js';
import { SharedTableStore } from '../storage/shared-table.js';
import { PartitionTable, storeSink } from './partition-table.js';
import type { TableUpdater } from './update.js';

export interface LookupStats {
  table: string;
  partitions: number;
  keys: number;
  /** The one LMDB environment every actor of this process reads. */
  path: string;
  recoveredRecords: number;
  recoveryMs: number;
  followed: number;
  /** Next changelog offset to read, per partition. */
  positions: number[];
}

export class LookupTable {
  readonly table: string;
  readonly path: string;
  readonly #store: SharedTableStore;
  readonly #parts: PartitionTable[] = [];
  readonly #readers: ReaderPort[] = [];
  readonly #abort = new AbortController();
  #following: Promise<unknown> = Promise.resolve();
  #recoveryMs = 0;

  constructor(
    table: string,
    path: string,
    partitions: number,
    client: KafkaClient,
    hasher: Hasher,
    log: Logger,
    update?: TableUpdater,
  ) {
    this.table = table;
    this.path = path;
    this.#store = new SharedTableStore(path);
    for (let p = 0; p < partitions; p++) {
      const store = this.#store.partition(p, (key) => hasher(keyBytes(key), partitions) === p);
      const sink = storeSink(store, p, update);
      // A reader per partition: its follower long-polls.
      const reader = client.reader();
      this.#readers.push(reader);
      this.#parts.push(new PartitionTable({ reader, topic: table, partition: p, sink, log: log.child({ lookup: table }) }));
    }
  }

  /** Restores every partition to its high-water mark, in parallel. */
  async restore(): Promise<void> {
    const started = Date.now();
    await Promise.all(this.#parts.map((t) => t.restore(this.#abort.signal)));
    this.#recoveryMs = Date.now() - started;
  }

  /** Follows every partition until close(); a failure is reported to `fail`. */
  follow(fail: (err: Error) => void): void {
    this.#following = Promise.all(this.#parts.map((t) => t.follow(this.#abort.signal))).catch((err: unknown) => {
      if (!this.#abort.signal.aborted) fail(err as Error);
    });
  }

  stats(): LookupStats {
    return {
      table: this.table,
      partitions: this.#parts.length,
      keys: this.#store.count(),
      path: this.path,
      recoveredRecords: this.#parts.reduce((n, t) => n + (t.recovery?.records ?? 0), 0),
      recoveryMs: this.#recoveryMs,
      followed: this.#parts.reduce((n, t) => n + t.followed, 0),
      positions: this.#parts.map((t) => t.position),
    };
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#following;
    await Promise.all(this.#readers.map((r) => r.close().catch(() => undefined)));
    await this.#store.close();
  }
}
