// A partition this instance does not own, kept up to date in this thread (hot standby, and
// recover-ahead before the group is joined): its group table and joined tables restored into
// the very LMDB environments the partition's actor opens on takeover, then followed. A takeover
// closes the standby first; the actor then finds a current checkpoint and reads only the delta.
import type { Logger } from '../../logger.js';
import type { ReaderPort } from '../../kafka/ports.js';
import { openStore } from '../../storage/open.js';
import type { PartitionStore, StorageSpec } from '../../storage/storage.js';
import { PartitionTable, storeSink, type RecoveryStats } from '../../table/partition-table.js';
import type { TableUpdater } from '../../table/update.js';

export interface StandbyStats {
  partition: number;
  state: 'recovering' | 'standby' | 'closed';
  /** The group table's feed: next offset to read, and the high-water mark last seen. */
  position: number;
  highWatermark: number | null;
  recovery: RecoveryStats | null;
  followed: number;
}

export class StandbyPartition {
  readonly partition: number;
  state: StandbyStats['state'] = 'recovering';
  readonly #tables: PartitionTable[] = [];
  readonly #stores = new Map<string, PartitionStore>();
  readonly #reader: ReaderPort;
  readonly #abort = new AbortController();
  readonly #tableTopic: string;
  #following: Promise<unknown> = Promise.resolve();

  /** `tables`: the group table first, then the joined tables. */
  constructor(
    partition: number,
    tables: string[],
    storage: StorageSpec,
    reader: ReaderPort,
    log: Logger,
    updateFor: (table: string) => TableUpdater | undefined,
  ) {
    this.partition = partition;
    this.#reader = reader;
    this.#tableTopic = tables[0]!;
    for (const topic of tables) {
      const store = openStore(storage, topic, partition);
      this.#stores.set(topic, store);
      this.#tables.push(new PartitionTable({
        reader,
        topic,
        partition,
        log,
        sink: storeSink(store, partition, updateFor(topic)),
      }));
    }
  }

  async restore(): Promise<void> {
    await Promise.all(this.#tables.map((t) => t.restore(this.#abort.signal)));
    if (this.state === 'recovering') this.state = 'standby';
  }

  /** Follows every table until close(); a failure goes to `fail`. */
  follow(fail: (err: Error) => void): void {
    this.#following = Promise.all(this.#tables.map((t) => t.follow(this.#abort.signal))).catch((err: unknown) => {
      if (!this.#abort.signal.aborted) fail(err as Error);
    });
  }

  /** The group table's value of a key (bytes), as far as this standby has followed. */
  get(key: string): Uint8Array | undefined {
    return this.#stores.get(this.#tableTopic)?.get(key);
  }

  stats(): StandbyStats {
    const t = this.#tables[0]!;
    return {
      partition: this.partition,
      state: this.state,
      position: t.position,
      highWatermark: t.highWatermark ?? null,
      recovery: t.recovery ?? null,
      followed: t.followed,
    };
  }

  /** Stops following and closes the stores, so the partition's actor can open them. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#following;
    await this.#reader.close().catch(() => undefined);
    for (const s of this.#stores.values()) await s.close().catch(() => undefined);
    this.state = 'closed';
  }
}
