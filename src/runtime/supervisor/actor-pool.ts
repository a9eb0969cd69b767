// Where partition actors live: a fixed set of plain worker threads (ThreadPool, thread-pool.ts), the
// main thread itself (workers: 0, InlinePool here), or both (mainThreadActors, WithMainThread here).
// piscina was measured for this (see README): its queueing and balancing do not apply to permanent
// actors, so a small pool with deterministic placement and per-thread crash reporting is used instead.
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

/**
 * Worker threads and the main thread together (`mainThreadActors`): the main thread takes a
 * partition when it holds fewer than every thread, so that N threads and it split the partitions
 * evenly, ties going to the threads (the main thread also does all the Kafka I/O). On a small host
 * that uses the main thread's idle time for callbacks, with one V8 isolate fewer to boot and to
 * JIT-compile than N + 1 threads. Its host index is the threads' count.
 */
export class WithMainThread implements ActorPool {
  readonly size: number;
  readonly #threads: ActorPool;
  readonly #main: InlinePool;
  readonly #mainHost: number;
  readonly #onMain = new Set<number>();

  constructor(threads: ActorPool, main: InlinePool) {
    this.#threads = threads;
    this.#main = main;
    this.#mainHost = threads.size;
    this.size = threads.size + 1;
  }

  /** Starts the main thread's share; the threads are started by their owner (startThreads). */
  start(): Promise<void> {
    return this.#main.start();
  }

  open(init: ActorInit, backlog?: number): Placement {
    const fewest = Math.min(...this.#threads.hosts().map((ps) => ps.length));
    if (!this.#onMain.has(init.partition) && this.#onMain.size < fewest) {
      this.#onMain.add(init.partition);
      return { port: this.#main.open(init).port, host: this.#mainHost };
    }
    return this.#threads.open(init, backlog);
  }

  release(host: number, partition: number): void {
    if (host !== this.#mainHost) return this.#threads.release(host, partition);
    this.#onMain.delete(partition);
    this.#main.release(0, partition);
  }

  hosts(): number[][] {
    return [...this.#threads.hosts(), ...this.#main.hosts()];
  }

  threadStats(): ThreadStats[] {
    return [...this.#threads.threadStats(), ...this.#main.threadStats()];
  }

  async close(): Promise<void> {
    await this.#main.close();
    await this.#threads.close();
  }
}
