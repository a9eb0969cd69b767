// Where partition actors live: a fixed set of plain worker threads (several actors per thread,
// explicit placement), or the main thread itself (workers: 0). piscina was measured for this
// (see README): its queueing and balancing do not apply to permanent actors, so a small pool
// with deterministic placement and per-thread crash reporting is used instead.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { deserializeError, WorkerCrashedError } from '../../errors.js';
import type { GroupGraph } from '../../graph/define-group.js';
import { PartitionActor } from '../actor/partition-actor.js';
import { LOOP_DELAY_WINDOW_MS, LoopDelay, type LoopDelayStats } from '../loop-delay.js';
import { PROTOCOL_VERSION, type ActorInit, type HostToSupervisor, type HostWorkerData, type SupervisorToHost } from '../protocol.js';

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

/** What placement weighs of a thread. */
export interface HostLoad {
  live: boolean;
  partitions: Pick<ReadonlySet<number>, 'has' | 'size'>;
  /** The backlogs its partitions had when they were placed. */
  backlog: number;
}

/**
 * The thread for a new actor: a live one without that partition, with the fewest partitions (they
 * are the lasting load), and among those the least backlog (a catch-up is spread over the threads
 * when the partitions are placed largest backlog first). -1: none.
 */
export function placeActor(hosts: readonly HostLoad[], partition: number): number {
  let best = -1;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i]!;
    if (!h.live || h.partitions.has(partition)) continue;
    const b = best < 0 ? undefined : hosts[best]!;
    if (!b || h.partitions.size < b.partitions.size || (h.partitions.size === b.partitions.size && h.backlog < b.backlog)) best = i;
  }
  return best;
}

const sumOf = (xs: Iterable<number>) => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

interface Host {
  worker: Worker;
  /** Its partitions, each with its backlog hint at placement. */
  partitions: Map<number, number>;
  exited: boolean;
  loopDelay: LoopDelayStats | null;
}

function hostEntry(groupModule: string): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`../../../workers/actor-host.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource && !/\.[cm]?ts$/.test(new URL(groupModule).pathname)) return entry;
  // TypeScript group module (or partita itself from source): register tsx inside the worker,
  // because tsx's loader hooks only reach the main thread on Node 20.
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch (err) {
    throw new Error(`partita: the group module ${groupModule} is TypeScript; install tsx to load it in worker threads`, { cause: err });
  }
  const shim = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(shim)}`);
}

export class ThreadPool implements ActorPool {
  readonly size: number;
  readonly #group: string;
  readonly #groupModule: string;
  readonly #onCrash: (err: WorkerCrashedError) => void;
  readonly #hosts: Host[] = [];
  #closing = false;

  constructor(opts: { size: number; group: string; groupModule: string; onCrash: (err: WorkerCrashedError) => void }) {
    this.size = opts.size;
    this.#group = opts.group;
    this.#groupModule = opts.groupModule;
    this.#onCrash = opts.onCrash;
  }

  /** Starts every thread and waits until each has loaded the group module. */
  async start(): Promise<void> {
    const entry = hostEntry(this.#groupModule);
    await Promise.all(
      Array.from({ length: this.size }, (_, i) => {
        const data: HostWorkerData = { v: PROTOCOL_VERSION, groupModule: this.#groupModule, hostId: i };
        // A bounded young generation: actor threads allocate short-lived records fast, and each
        // full semi-space is resident memory; at 8 MiB they scavenged ~60 times per 200k records.
        const worker = new Worker(entry, { workerData: data, name: `partita-${this.#group}-${i}`, resourceLimits: { maxYoungGenerationSizeMb: 32 } });
        const host: Host = { worker, partitions: new Map(), exited: false, loopDelay: null };
        this.#hosts.push(host);
        return new Promise<void>((resolve, reject) => {
          let ready = false;
          const crash = (reason: string, cause?: unknown) => {
            if (host.exited) return;
            host.exited = true;
            const err = new WorkerCrashedError(this.#group, i, [...host.partitions.keys()].sort((a, b) => a - b), reason, cause === undefined ? undefined : { cause });
            if (!ready) reject(err);
            else if (!this.#closing) this.#onCrash(err);
          };
          worker.on('message', (m: HostToSupervisor) => {
            if (m.kind === 'host-stats') {
              host.loopDelay = m.loopDelay;
            } else if (m.kind === 'host-ready') {
              ready = true;
              resolve();
            } else if (m.kind === 'host-fatal') {
              const cause = deserializeError(m.error);
              crash(cause.message, cause);
            }
          });
          worker.on('error', (err) => crash(`uncaught ${err.name}: ${err.message}`, err));
          worker.on('exit', (code) => crash(`exited with code ${code}`));
        });
      }),
    );
  }

  open(init: ActorInit, backlog = 0): Placement {
    const loads = this.#hosts.map((h) => ({ live: !h.exited, partitions: h.partitions, backlog: sumOf(h.partitions.values()) }));
    const best = placeActor(loads, init.partition);
    if (best < 0) throw new WorkerCrashedError(this.#group, -1, [init.partition], 'no live worker thread to place the actor on');
    const host = this.#hosts[best]!;
    const { port1, port2 } = new MessageChannel();
    const msg: SupervisorToHost = { v: PROTOCOL_VERSION, kind: 'open', actorId: init.partition, port: port2, init };
    host.worker.postMessage(msg, [port2]);
    host.partitions.set(init.partition, backlog);
    return { port: port1, host: best };
  }

  release(host: number, partition: number): void {
    this.#hosts[host]?.partitions.delete(partition);
  }

  hosts(): number[][] {
    return this.#hosts.map((h) => [...h.partitions.keys()].sort((a, b) => a - b));
  }

  threadStats(): ThreadStats[] {
    return this.#hosts.map((h, i) => ({ thread: i, partitions: [...h.partitions.keys()].sort((a, b) => a - b), loopDelay: h.exited ? null : h.loopDelay }));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#hosts.map((h) => (h.exited ? undefined : h.worker.terminate())));
  }
}
