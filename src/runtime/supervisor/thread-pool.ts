// The worker threads that host partition actors, several per thread, with explicit placement. Its
// own module, light to load: Processor.run() starts the threads before it loads the group module
// and the supervisor (which load lmdb and the rest), so that their boot overlaps those.
import { MessageChannel, Worker } from 'node:worker_threads';
import { deserializeError, WorkerCrashedError } from '../../errors.js';
import type { LoopDelayStats } from '../loop-delay.js';
import { PROTOCOL_VERSION, type ActorInit, type HostToSupervisor, type HostWorkerData, type SupervisorToHost } from '../protocol.js';
import type { ActorPool, Placement, ThreadStats } from './actor-pool.js';

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

/** A pool whose threads are starting, and that start (handled: its adopter awaits it). */
export interface StartedThreads {
  pool: ThreadPool;
  started: Promise<void>;
}

/** Starts `size` threads that load `groupModule`; the group's name, when known, names the threads. */
export function startThreads(size: number, groupModule: string, group?: string): StartedThreads {
  const pool = new ThreadPool({ size, groupModule, ...(group !== undefined ? { group } : {}) });
  const started = pool.start();
  started.catch(() => undefined);
  return { pool, started };
}

export class ThreadPool implements ActorPool {
  readonly size: number;
  /** Known once the group module is loaded on the main thread (adopt), or given up front. */
  #group: string | undefined;
  readonly #groupModule: string;
  #onCrash: ((err: WorkerCrashedError) => void) | undefined;
  /** A thread that died after start and before adopt(): reported to the adopter. */
  #crashed: WorkerCrashedError | undefined;
  readonly #hosts: Host[] = [];
  #closing = false;

  constructor(opts: { size: number; groupModule: string; group?: string }) {
    this.size = opts.size;
    this.#group = opts.group;
    this.#groupModule = opts.groupModule;
  }

  /**
   * The supervisor takes the pool over (Processor.run() may have started it before the group
   * module was loaded): the group's name, for errors, and where a thread's crash goes from now on.
   */
  adopt(group: string, onCrash: (err: WorkerCrashedError) => void): void {
    this.#group ??= group;
    this.#onCrash = onCrash;
    if (this.#crashed) onCrash(this.#crashed);
  }

  /** The group's name, or, before it is known, which module the threads load. */
  get #label(): string {
    return this.#group ?? `(group module ${new URL(this.#groupModule).pathname.split('/').pop() || this.#groupModule})`;
  }

  /** Starts every thread and waits until each has loaded the group module. */
  async start(): Promise<void> {
    const entry = hostEntry(this.#groupModule);
    await Promise.all(
      Array.from({ length: this.size }, (_, i) => {
        const data: HostWorkerData = { v: PROTOCOL_VERSION, groupModule: this.#groupModule, hostId: i };
        // A bounded young generation: actor threads allocate short-lived records fast, and each
        // full semi-space is resident memory; at 8 MiB they scavenged ~60 times per 200k records.
        const worker = new Worker(entry, { workerData: data, name: `partita-${this.#group ?? 'actors'}-${i}`, resourceLimits: { maxYoungGenerationSizeMb: 32 } });
        const host: Host = { worker, partitions: new Map(), exited: false, loopDelay: null };
        this.#hosts.push(host);
        return new Promise<void>((resolve, reject) => {
          let ready = false;
          const crash = (reason: string, cause?: unknown) => {
            if (host.exited) return;
            host.exited = true;
            const err = new WorkerCrashedError(this.#label, i, [...host.partitions.keys()].sort((a, b) => a - b), reason, cause === undefined ? undefined : { cause });
            if (!ready) reject(err);
            else if (this.#closing) return;
            else if (this.#onCrash) this.#onCrash(err);
            else this.#crashed ??= err;
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
    if (best < 0) throw new WorkerCrashedError(this.#label, -1, [init.partition], 'no live worker thread to place the actor on');
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
