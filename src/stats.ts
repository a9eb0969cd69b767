// The typed shape of stats(): what tests, the demo, and (next) the monitor and metrics read.
import type { HandleState, ProcessorState } from './runtime/lifecycle.js';
import type { StandbyStats } from './runtime/supervisor/standby.js';
import type { LookupStats } from './table/lookup-table.js';
import type { RecoveryStats } from './table/partition-table.js';
import type { CounterStats } from './runtime/supervisor/counters.js';
import type { ThreadStats } from './runtime/supervisor/actor-pool.js';
import type { LoopDelayStats } from './runtime/loop-delay.js';

export type { LookupStats, StandbyStats, RecoveryStats, CounterStats, ThreadStats, LoopDelayStats };
export type { ViewStats, ViewPartitionStats } from './view.js';

/** One partition this instance owns. */
export interface PartitionStats {
  partition: number;
  state: HandleState;
  /**
   * The host of the actor (-1: not placed yet): a worker thread's index, or, for the main thread, 0 with
   * `workers: 0` and the threads' count with `mainThreadActors`; `threads` tells which thread is which.
   */
  worker: number;
  /** Input records processed (counted when the actor hands its effects over). */
  processed: number;
  /** Records per second over about the last ten seconds. */
  rate: number;
  /** Records handed to the actor and not processed yet. */
  inflight: number;
  paused: boolean;
  /** Per input topic (and the loop topic): offsets and lag; null where not known yet. */
  offsets: Record<string, InputOffsets>;
  /** The sum of `offsets[topic].lag`; null while any of them is unknown. */
  lag: number | null;
  /** The group table's recovery (null without a group table). */
  recovery: RecoveryStats | null;
  /** Next changelog offset to read per table the actor holds (group table, joined tables). */
  tables: Record<string, number>;
}

/**
 * One input partition's offsets (next offsets, as Kafka counts them). The high-water mark comes
 * from fetches and from the brokers, read every `offsetsRefreshMs`; null until known.
 */
export interface InputOffsets {
  highWatermark: number | null;
  /** The group's committed offset (this instance's commits, or the brokers' record of the group's). */
  committed: number | null;
  /** The offset after the last record processed (effects possibly not acked yet). */
  processed: number | null;
  /** Consumer lag: highWatermark − committed (what Kafka's tools report). */
  lag: number | null;
  /** Records not processed yet: highWatermark − processed. */
  pending: number | null;
}

export interface ProcessorStats {
  group: string;
  state: ProcessorState;
  /** True while Kafka does not answer (the processor waits and reconnects, up to brokerOutageMs). */
  connecting: boolean;
  /** The topics the group reads and writes (null: no such edge). */
  topics: { inputs: string[]; table: string | null; loop: string | null; outputs: string[] };
  /** Partition count of the inputs (0 before start). */
  partitions: number;
  uptimeMs: number;
  /** Partitions per worker thread. */
  workers: number[][];
  error: { name: string; message: string; code?: string } | null;
  actors: PartitionStats[];
  lookups: LookupStats[];
  standby: StandbyStats[];
  /** Counters over the instance's whole run (they never go down; for Prometheus). */
  counters: CounterStats;
  /** The threads hosting actors, with their event-loop delay. */
  threads: ThreadStats[];
}

/** The stats of a processor that has not started. */
export function idleStats(group = ''): ProcessorStats {
  return {
    group, state: 'idle', connecting: false, topics: { inputs: [], table: null, loop: null, outputs: [] }, partitions: 0, uptimeMs: 0, workers: [], error: null, actors: [], lookups: [], standby: [],
    counters: { processed: {}, produced: {}, rebalances: 0 }, threads: [],
  };
}
