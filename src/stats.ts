// The typed shape of stats(): what tests, the demo, and (next) the monitor and metrics read.
import type { HandleState, ProcessorState } from './runtime/lifecycle.js';
import type { StandbyStats } from './runtime/supervisor/standby.js';
import type { LookupStats } from './table/lookup-table.js';
import type { RecoveryStats } from './table/partition-table.js';

export type { LookupStats, StandbyStats, RecoveryStats };
export type { ViewStats, ViewPartitionStats } from './view.js';

/** One partition this instance owns. */
export interface PartitionStats {
  partition: number;
  state: HandleState;
  /** The worker thread hosting the actor (-1: not placed yet). */
  worker: number;
  /** Input records processed (counted when the actor hands its effects over). */
  processed: number;
  /** Records per second over about the last ten seconds. */
  rate: number;
  /** Records handed to the actor and not processed yet. */
  inflight: number;
  paused: boolean;
  /** Next offset to consume, committed, per input topic. */
  committed: Record<string, number>;
  /** Records behind the high-water mark last fetched, per input topic. */
  lag: Record<string, number>;
  /** The group table's recovery (null without a group table). */
  recovery: RecoveryStats | null;
  /** Next changelog offset to read per table the actor holds (group table, joined tables). */
  tables: Record<string, number>;
}

export interface ProcessorStats {
  group: string;
  state: ProcessorState;
  /** Partition count of the inputs (0 before start). */
  partitions: number;
  uptimeMs: number;
  /** Partitions per worker thread. */
  workers: number[][];
  error: { name: string; message: string; code?: string } | null;
  actors: PartitionStats[];
  lookups: LookupStats[];
  standby: StandbyStats[];
}

/** The stats of a processor that has not started. */
export function idleStats(group = ''): ProcessorStats {
  return { group, state: 'idle', partitions: 0, uptimeMs: 0, workers: [], error: null, actors: [], lookups: [], standby: [] };
}
