// One table partition fed from its changelog: restore to a mark (the high-water mark at the
// time), then optionally follow it. The one mechanism behind the group table, joined tables,
// lookup tables, views and hot-standby partitions (Goka's PartitionTable; Kafka Streams'
// StoreChangelogReader in its ACTIVE_RESTORING and STANDBY_UPDATING modes). Where the records
// go is the sink's business: an actor's store in a worker thread, or a store in this thread.
import type { Logger } from '../logger.js';
import type { ReaderPort, RecordChunk } from '../kafka/ports.js';
import type { PartitionStore } from '../storage/storage.js';
import { ChangelogApplier, type TableUpdater } from './update.js';

export interface TableSink {
  /** Offset of the last changelog record the sink holds, or null when it holds none. */
  checkpoint(): number | null | Promise<number | null>;
  /** Drops everything (the checkpoint is beyond the changelog: the topic was recreated). */
  wipe(): Promise<void>;
  /**
   * Applies records in offset order (a null value deletes); the checkpoint becomes the last
   * offset. With `hold` the sink may keep them to apply with the chunks after it (a restore's
   * reads), until `flush`.
   */
  apply(chunk: RecordChunk, hold?: boolean): Promise<void>;
  /** Applies what `apply` held. */
  flush(): Promise<void>;
}

/** A sink into a store of this thread (views, lookups, standbys). */
export function storeSink(store: PartitionStore, partition: number, update?: TableUpdater): TableSink {
  const applier = new ChangelogApplier(store, partition, update);
  return {
    checkpoint: () => store.checkpoint(),
    wipe: () => {
      applier.drop();
      return store.clear();
    },
    apply: (chunk, hold) => (chunk.batches ? applier.batches(chunk.batches, chunk.last, hold) : applier.records(chunk.records!)),
    flush: () => applier.flush(),
  };
}

export interface RecoveryStats {
  /** Checkpoint found in the sink (null: none). */
  checkpoint: number | null;
  from: number;
  to: number;
  records: number;
  ms: number;
  wiped: boolean;
  /** Records applied by catch-up reads after the restore (a previous owner's last writes). */
  caughtUp: number;
}

export interface PartitionTableDeps {
  reader: ReaderPort;
  topic: string;
  partition: number;
  sink: TableSink;
  log: Logger;
}

/** Applies outstanding at once while reading: the next fetch overlaps the sink's work. */
const PIPELINE = 2;

export class PartitionTable {
  readonly topic: string;
  readonly partition: number;
  recovery: RecoveryStats | undefined;
  /** Next changelog offset to read. */
  position = 0;
  /** Records applied while following. */
  followed = 0;
  /** High-water mark seen at the last restore or catch-up. */
  highWatermark: number | undefined;
  readonly #d: PartitionTableDeps;

  constructor(deps: PartitionTableDeps) {
    this.#d = deps;
    this.topic = deps.topic;
    this.partition = deps.partition;
  }

  /** Brings the sink from its checkpoint to the changelog's current high-water mark. */
  async restore(signal?: AbortSignal): Promise<RecoveryStats> {
    const started = Date.now();
    const { reader, topic, partition, sink, log } = this.#d;
    let checkpoint = await sink.checkpoint();
    const wm = await reader.watermarks(topic, partition);
    let wiped = false;
    if (checkpoint !== null && checkpoint >= wm.high) {
      log.warn({ table: topic, partition, checkpoint, highWatermark: wm.high },
        'local checkpoint is beyond the changelog (topic recreated?): wiping local state and rebuilding');
      await sink.wipe();
      checkpoint = null;
      wiped = true;
    }
    const from = checkpoint === null ? wm.low : Math.max(checkpoint + 1, wm.low);
    const stats: RecoveryStats = { checkpoint, from, to: wm.high, records: 0, ms: 0, wiped, caughtUp: 0 };
    this.recovery = stats;
    stats.records = await this.#readTo(from, wm.high, signal);
    this.position = Math.max(from, wm.high);
    this.highWatermark = wm.high;
    stats.ms = Date.now() - started;
    log.debug({ table: topic, partition, ...stats }, 'table partition recovered');
    return stats;
  }

  /** Reads once more up to the current high-water mark; returns how many records it applied. */
  async catchUp(signal?: AbortSignal): Promise<number> {
    const wm = await this.#d.reader.watermarks(this.topic, this.partition);
    this.highWatermark = wm.high;
    if (wm.high <= this.position) return 0;
    const n = await this.#readTo(this.position, wm.high, signal);
    this.position = wm.high;
    if (this.recovery) {
      this.recovery.caughtUp += n;
      this.recovery.to = wm.high;
    }
    return n;
  }

  /** Applies records as they are written, until `signal` aborts (resolves then). */
  async follow(signal: AbortSignal): Promise<void> {
    for await (const chunk of this.#d.reader.read(this.topic, this.partition, { from: this.position, signal })) {
      if (signal.aborted) break;
      await this.#d.sink.apply(chunk);
      this.position = chunk.last + 1;
      this.followed += chunk.count;
      if (this.highWatermark === undefined || this.position > this.highWatermark) this.highWatermark = this.position;
    }
  }

  async #readTo(from: number, to: number, signal?: AbortSignal): Promise<number> {
    if (from >= to) return 0;
    const pending: Promise<void>[] = [];
    let records = 0;
    for await (const chunk of this.#d.reader.read(this.topic, this.partition, { from, to, ...(signal ? { signal } : {}) })) {
      if (signal?.aborted) break;
      const applied = this.#d.sink.apply(chunk, true);
      applied.catch(() => undefined); // awaited below; a rejection must not count as unhandled meanwhile
      pending.push(applied);
      records += chunk.count;
      if (pending.length >= PIPELINE) await pending.shift();
    }
    await Promise.all(pending);
    await this.#d.sink.flush();
    return records;
  }
}
