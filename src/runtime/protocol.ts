import type { LoopDelayStats } from './loop-delay.js';
// The only message shapes that travel between the supervisor (main thread) and partition
// actors (worker threads, or the main thread with workers: 0). Record batches travel as
// transferred ArrayBuffers packed by wire.ts; errors travel as SerializedError.
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { Headers } from '../headers.js';
import type { StorageSpec } from '../storage/storage.js';

export const PROTOCOL_VERSION = 1;

export type NilHandling = 'ignore' | 'process' | 'decode';

/** Everything an actor needs, as plain data (workers never see main-thread globals). */
export interface ActorInit {
  group: string;
  partition: number;
  tableTopic: string;
  /** Tables joined by the group (co-partitioned): partition p of each is held by actor p. */
  joins: string[];
  /** Looked-up tables: one shared LMDB environment per table per process, read by path. */
  lookups: { table: string; path: string }[];
  loopTopic: string;
  nilHandling: NilHandling;
  storage: StorageSpec;
  /** Processor default headers, added to every emit and loopback. */
  defaultHeaders?: Headers | undefined;
  /** Most records processed before effects are flushed to the supervisor. */
  flushEvery: number;
}

// ---- worker host (one per thread) ------------------------------------------------------

export interface HostWorkerData {
  v: typeof PROTOCOL_VERSION;
  /** URL of the group module whose default export is the GroupGraph. */
  groupModule: string;
  hostId: number;
}

export type SupervisorToHost = { v: number; kind: 'open'; actorId: number; port: MessagePort; init: ActorInit };

export type HostToSupervisor =
  | { v: number; kind: 'host-ready'; group: string }
  | { v: number; kind: 'host-fatal'; error: SerializedError }
  /** Every second: the thread's event-loop delay over that second. */
  | { v: number; kind: 'host-stats'; loopDelay: LoopDelayStats };

// ---- actor port -----------------------------------------------------------------------

export type SupervisorToActor =
  /** Wipe local state (checkpoint beyond the changelog: topic recreated). */
  | { kind: 'wipe'; table: string }
  /** Changelog records to apply, in order. */
  | { kind: 'recover-batch'; table: string; buffer: ArrayBuffer }
  /**
   * Changelog records as fetched: Kafka record batches, whose records in [from, to) apply; `last`
   * is the last one's offset. With `hold` the actor may apply them with the chunks after them
   * (ChangelogApplier), at the latest on `recover-flush`; `recover-applied` acks either way.
   */
  | { kind: 'recover-batches'; table: string; bytes: ArrayBuffer; from: number; to: number; last: number; hold: boolean }
  /** Apply what `recover-batches` held (a read ended); acked with `recover-applied`. */
  | { kind: 'recover-flush'; table: string }
  /** The changelog was read up to its high-water mark: start processing. */
  | { kind: 'recover-done' }
  /** Input records (inputs and loop), in partition order per topic. */
  | { kind: 'records'; buffer: ArrayBuffer }
  /** Input records of `topic` as fetched: Kafka record batches, whose records in [from, to) are new. */
  | { kind: 'input-batches'; topic: string; bytes: ArrayBuffer; from: number; to: number }
  /** Effects of `batch` were acked; the table writes end at changelog offset `changelogOffset`. */
  | { kind: 'acked'; batch: number; changelogOffset: number | null }
  | { kind: 'get'; seq: number; key: string }
  /** Run visitor `name` over every key of the partition, between input records. */
  | { kind: 'visit'; seq: number; name: string; meta: unknown }
  | { kind: 'visit-cancel'; seq: number }
  /** Finish the record in hand, drop the rest of the queue, flush, report `stopped`. */
  | { kind: 'stop'; seq: number }
  /** Close the store and report `closed`. Sent once every effect was acked. */
  | { kind: 'close'; seq: number };

export interface DoneOffset {
  topic: string;
  /** Highest offset of this topic fully processed in the batch. */
  offset: number;
  /** Records of this topic the batch processed. */
  records: number;
}

export type ActorToSupervisor =
  /** The stores are open; their checkpoints by table topic (null: empty). */
  | { kind: 'opened'; checkpoints: Record<string, number | null> }
  | { kind: 'recover-applied'; table: string }
  | { kind: 'running' }
  /**
   * Effects of processing: emits, table writes and loopbacks packed in `buffer`; `done` are
   * the input offsets the batch covers; `holds` counts deferred commits not yet released.
   */
  | { kind: 'effects'; batch: number; buffer: ArrayBuffer; records: number; done: DoneOffset[]; holds: number; tableWrites: number }
  | { kind: 'release'; batch: number }
  /** A visit ended: every key visited and acked, or aborted (cancel, stop) after `visited`. */
  | { kind: 'visit-done'; seq: number; visited: number; aborted: boolean }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'get-result'; seq: number; value: Uint8Array | null; error?: SerializedError }
  | { kind: 'stopped'; seq: number; dropped: number }
  | { kind: 'closed'; seq: number };

export function assertNever(x: never, where: string): never {
  throw new Error(`${where}: unexpected message ${JSON.stringify((x as { kind?: unknown })?.kind)}`);
}
