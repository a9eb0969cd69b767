// Where partition actors live: a fixed set of plain worker threads (ThreadPool, thread-pool.ts), or
// the main thread itself (workers: 0, InlinePool here). piscina was measured for this (see README):
// its queueing and balancing do not apply to permanent actors, so a small pool with deterministic
// placement and per-thread crash reporting is used instead.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { GroupGraph } from '../../graph/define-group.js';
import { PartitionActor } from '../actor/partition-actor.js';
import { LOOP_DELAY_WINDOW_MS, LoopDelay, type LoopDelayStats } from '../loop-delay.js';
import type { ActorInit } from '../protocol.js';

export interface ThreadStats {
  /** The worker thread's index (-1: the main thread, with workers: 0). */
  thread: number;
  partitions: number[];
  /** Event-loop delay over the last second (null before the first second). */
  loopDelay: LoopDelayStats | null;
}

export interface Placement {
  port: MessagePort;
  host: number;
}

export interface ActorPool {
  readonly size: number;
  start(): Promise<void>;
  /** `backlog`: the partition's records waiting to be processed, when known (a placement hint). */
  open(init: ActorInit, backlog?: number): Placement;
  release(host: number, partition: number): void;
  /** Partitions per host, for stats. */
  hosts(): number[][];
  /** Per thread hosting actors: its partitions and event-loop delay. */
  threadStats(): ThreadStats[];
  close(): Promise<void>;
}

/** Runs actors in the calling thread over in-process MessageChannels. */
export class InlinePool implements ActorPool {
  readonly size = 0;
  readonly #graph: GroupGraph;
  readonly #partitions = new Set<number>();
  readonly #delay = new LoopDelay();
  constructor(graph: GroupGraph) {
    this.#graph = graph;
  }
  async start(): Promise<void> {
    this.#delay.start(LOOP_DELAY_WINDOW_MS);
  }
  open(init: ActorInit): Placement {
    const { port1, port2 } = new MessageChannel();
    new PartitionActor(port2, this.#graph, init).start();
    this.#partitions.add(init.partition);
    return { port: port1, host: 0 };
  }
  release(_host: number, partition: number): void {
    this.#partitions.delete(partition);
  }
  hosts(): number[][] {
    return [[...this.#partitions].sort((a, b) => a - b)];
  }
  threadStats(): ThreadStats[] {
    return [{ thread: -1, partitions: this.hosts()[0]!, loopDelay: this.#delay.latest }];
  }
  async close(): Promise<void> {
    this.#delay.stop();
  }
}
