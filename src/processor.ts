import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from './errors.js';
import { checkBrokers } from './kafka/brokers.js';
import { isGroupGraph, type GraphType, type GroupGraph, type TableValue, type VisitorMeta, type VisitorName } from './graph/define-group.js';
import type { UnknownSpec } from './graph/context.js';
import { loadGroupModule } from './graph/load.js';
import { loopTopic, tableTopic } from './graph/naming.js';
import { hashers, type Hasher } from './hashers.js';
import { mergeHeaders, type HeadersInit } from './headers.js';
import { clientFactory } from './kafka/default-client.js';
import type { KafkaClientFactory } from './kafka/ports.js';
import type { TopicSettings } from './kafka/topic-manager.js';
import { defaultLogger, type Logger } from './logger.js';
import type { NilHandling } from './runtime/protocol.js';
import type { ResolvedOptions } from './runtime/supervisor/options.js';
import type { Supervisor } from './runtime/supervisor/supervisor.js';
import type { StartedThreads } from './runtime/supervisor/thread-pool.js';
import { idleStats, type ProcessorStats } from './stats.js';

/**
 * The type of a graph loaded from a module URL, which carries no type: its reads are `unknown`.
 * Give the graph's type as the parameter instead: `Processor<typeof graph>`.
 */
export type UntypedGraph = GraphType<UnknownSpec>;

export interface ProcessorOptions<G extends GraphType = GroupGraph> {
  brokers: string[];
  /** URL (or path) of the module whose default export is the GroupGraph; a graph object only with workers: 0. */
  group: URL | string | G;
  /** Threads hosting partition actors; 0 runs actors in this thread. Default: min(partitions, cores). */
  workers?: number;
  /**
   * With `workers` ≥ 1, the main thread hosts actors too, as many as the thread with the fewest
   * (6 partitions and `workers: 1`: 3 and 3). For CPU-heavy callbacks on a small host: the main
   * thread's spare time runs callbacks, and there is one V8 isolate fewer to start and to warm up.
   * Its callbacks delay this thread's Kafka work by up to one slice (~20 ms). Default false.
   */
  mainThreadActors?: boolean;
  clientId?: string;
  storage?: 'lmdb' | 'memory';
  /** Default ./.partita/<group>. */
  storagePath?: string;
  hasher?: Hasher;
  nilHandling?: NilHandling;
  hotStandby?: boolean;
  recoverAhead?: boolean;
  onRebalance?: (assignment: { partitions: number[] }) => void;
  tableSuffix?: string;
  loopSuffix?: string;
  topics?: TopicSettings;
  defaultHeaders?: HeadersInit;
  logger?: Logger;
  /** Records held for one partition (fetched, in the actor, or processed with effects not yet acked) before it is paused (default 2000). */
  maxInflight?: number;
  /** Records an actor processes before it hands its effects over (default 1000; a batch open for 200 ms goes out sooner). */
  flushEvery?: number;
  /** How often safe offsets are committed (default 500 ms). */
  commitIntervalMs?: number;
  /** How often the input partitions' high-water marks and committed offsets are read from the brokers, for lag (default 2 s). */
  offsetsRefreshMs?: number;
  /** Upper bound for a graceful stop of one partition (default 30 s). */
  stopTimeoutMs?: number;
  /** Consumer group session timeout: how long a dead instance holds its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /**
   * How long the brokers may be unreachable while running (default 60 s): within it the processor
   * pauses, reconnects and goes on; past it run() rejects with BrokerUnavailableError.
   */
  brokerOutageMs?: number;
  /** How long the first connection may take before run() rejects with BrokerUnavailableError (default 10 s). */
  connectTimeoutMs?: number;
  /** The Kafka client behind partita's ports (default kafkajs; partita/tester passes an in-memory one). */
  kafkaClient?: KafkaClientFactory;
}

export interface RunOptions {
  signal?: AbortSignal;
}

/**
 * One running instance of a group. Instances with the same group name split the partitions
 * of the co-partitioned inputs between them.
 */
export class Processor<G extends GraphType = UntypedGraph> {
  readonly #opts: ProcessorOptions<G>;
  #supervisor: Supervisor | undefined;
  #created: Promise<Supervisor>;
  #setCreated!: (s: Supervisor) => void;
  #running: Promise<void> | undefined;
  #graph: Promise<GroupGraph> | undefined;
  #stopRequested = false;

  constructor(opts: ProcessorOptions<G>) {
    if (!opts) throw new InvalidArgumentError('Processor: options are required');
    checkBrokers('Processor', opts.brokers, opts.kafkaClient !== undefined);
    if (opts.group === undefined) throw new InvalidArgumentError('Processor: group is required (a module URL, or a graph with workers: 0)');
    if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 0)) {
      throw new InvalidArgumentError(`Processor: workers must be a whole number ≥ 0, got ${opts.workers}`);
    }
    if (isGroupGraph(opts.group) && opts.workers !== 0) {
      throw new InvalidArgumentError(
        `Processor(${opts.group.group}): a graph object runs only in-thread (workers: 0). Worker threads import callbacks themselves: ` +
          `pass the module instead, e.g. group: new URL('./${opts.group.group}.js', import.meta.url)`,
      );
    }
    if ((opts.hotStandby || opts.recoverAhead) && opts.storage === 'memory') {
      throw new InvalidArgumentError("Processor: hotStandby and recoverAhead keep partitions in the local stores their actors take over: they need storage 'lmdb'");
    }
    for (const k of ['brokerOutageMs', 'connectTimeoutMs', 'sessionTimeoutMs', 'stopTimeoutMs', 'commitIntervalMs', 'offsetsRefreshMs'] as const) {
      const v = opts[k];
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InvalidArgumentError(`Processor: ${k} must be a positive number of milliseconds, got ${String(v)}`);
    }
    if (opts.storage !== undefined && opts.storage !== 'lmdb' && opts.storage !== 'memory') {
      throw new InvalidArgumentError(`Processor: storage must be 'lmdb' or 'memory', got ${String(opts.storage)}`);
    }
    if (opts.nilHandling !== undefined && !['ignore', 'process', 'decode'].includes(opts.nilHandling)) {
      throw new InvalidArgumentError(`Processor: nilHandling must be 'ignore', 'process' or 'decode', got ${String(opts.nilHandling)}`);
    }
    if (isGroupGraph(opts.group)) opts.group.validate();
    this.#opts = opts;
    this.#created = new Promise((r) => (this.#setCreated = r));
  }

  /** The module URL as a string, or undefined for a graph object. */
  #moduleUrl(): string | undefined {
    const g = this.#opts.group;
    if (g instanceof URL) return g.href;
    if (typeof g === 'string') return /^[a-z]+:/i.test(g) ? g : pathToFileURL(resolvePath(g)).href;
    return undefined;
  }

  #loadGraph(): Promise<GroupGraph> {
    const url = this.#moduleUrl();
    this.#graph ??= url ? loadGroupModule(url) : Promise.resolve(this.#opts.group as unknown as GroupGraph);
    return this.#graph;
  }

  #resolve(graph: GroupGraph, kafkaClient: KafkaClientFactory): ResolvedOptions {
    const o = this.#opts;
    const naming = { ...(o.tableSuffix !== undefined ? { tableSuffix: o.tableSuffix } : {}), ...(o.loopSuffix !== undefined ? { loopSuffix: o.loopSuffix } : {}) };
    graph.validate(naming);
    const storagePath = resolvePath(o.storagePath ?? `./.partita/${graph.group}`);
    return {
      brokers: o.brokers,
      clientId: o.clientId ?? `partita-${graph.group}`,
      inline: o.workers === 0,
      groupModule: this.#moduleUrl(),
      workers: o.workers === undefined ? undefined : o.workers,
      mainThreadActors: o.mainThreadActors === true && o.workers !== 0,
      storage: o.storage === 'memory' ? { kind: 'memory' } : { kind: 'lmdb', path: storagePath },
      hasher: o.hasher ?? hashers.murmur2,
      nilHandling: o.nilHandling ?? 'ignore',
      tableTopic: tableTopic(graph.group, naming),
      loopTopic: loopTopic(graph.group, naming),
      topics: o.topics ?? {},
      defaultHeaders: mergeHeaders(o.defaultHeaders),
      logger: o.logger ?? defaultLogger('partita'),
      onRebalance: o.onRebalance,
      maxInflight: o.maxInflight ?? 2000,
      flushEvery: o.flushEvery ?? 1000,
      commitIntervalMs: o.commitIntervalMs ?? 500,
      offsetsRefreshMs: o.offsetsRefreshMs ?? 2000,
      stopTimeoutMs: o.stopTimeoutMs ?? 30_000,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 30_000,
      hotStandby: o.hotStandby ?? false,
      recoverAhead: o.recoverAhead ?? false,
      brokerOutageMs: o.brokerOutageMs ?? 60_000,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      kafkaClient,
    };
  }

  /** Runs the processor; resolves on a clean stop, rejects with the first fatal error. */
  run(options: RunOptions = {}): Promise<void> {
    if (this.#running) throw new InvalidArgumentError('Processor: run() was already called');
    this.#running = (async () => {
      const threads = this.#startThreads();
      let sup: Supervisor;
      try {
        // The supervisor is loaded here, not with the package: worker threads import the package
        // through the user's group module but never run a supervisor (~15 ms of each thread's boot).
        const [graph, { Supervisor }, kafkaClient] = await Promise.all([this.#loadGraph(), import('./runtime/supervisor/supervisor.js'), clientFactory(this.#opts.kafkaClient)]);
        sup = new Supervisor(graph, { ...this.#resolve(graph, kafkaClient), threads: await threads });
      } catch (err) {
        await (await threads.catch(() => undefined))?.pool.close();
        throw err;
      }
      this.#supervisor = sup;
      this.#setCreated(sup);
      if (this.#stopRequested) sup.stop(); // stop() came while the module was loading
      const signal = options.signal;
      const onAbort = () => sup.stop();
      if (signal?.aborted) sup.stop();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await sup.run();
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    })();
    return this.#running;
  }

  /**
   * With a module URL and `workers` given, the actor threads start first: each takes a few hundred
   * ms to boot and load the group module, and they no longer wait for this thread to load it and
   * the supervisor (~45 ms of the first record). The supervisor adopts them.
   */
  async #startThreads(): Promise<StartedThreads | undefined> {
    const url = this.#moduleUrl();
    const n = this.#opts.workers;
    if (url === undefined || n === undefined || n === 0) return undefined;
    const { startThreads } = await import('./runtime/supervisor/thread-pool.js');
    return startThreads(n, url);
  }

  /** Resolves when every assigned partition is recovered and processing. */
  async ready(): Promise<void> {
    if (!this.#running) throw new InvalidArgumentError('Processor: call run() before ready()');
    // run() may fail before the supervisor exists (bad module, bad options): report that.
    const sup = await Promise.race([this.#created, this.#running.then(() => undefined)]);
    if (!sup) throw new InvalidArgumentError('Processor: stopped before it was ready');
    return sup.ready();
  }

  /** The value of a key in the group table, from a partition this instance holds. */
  async get(key: string): Promise<TableValue<G> | undefined> {
    if (!this.#supervisor) throw new InvalidArgumentError('Processor: not running');
    return this.#supervisor.get(key) as Promise<TableValue<G> | undefined>;
  }

  /** Per-partition state, offsets, lag and recovery, as plain JSON. */
  stats(): ProcessorStats {
    return this.#supervisor?.stats() ?? idleStats(isGroupGraph(this.#opts.group) ? this.#opts.group.group : '');
  }

  /** Graceful stop: in-flight work finishes, effects are acked, offsets committed. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#stopRequested = true;
    this.#supervisor?.stop();
    await this.#running.catch(() => undefined);
  }

  /**
   * Runs the visitor `name` over every key of the partitions this instance holds (Goka's
   * VisitAll), through the normal callback context, interleaved with input. Resolves with the
   * number of keys visited once all their effects are acked; a rebalance, stop() or `signal`
   * rejects with VisitAbortedError carrying the count so far. `meta` must be cloneable.
   */
  async visitAll<Name extends VisitorName<G>>(name: Name, meta?: VisitorMeta<G, Name>, options: { signal?: AbortSignal } = {}): Promise<{ visited: number }> {
    if (!this.#supervisor) throw new InvalidArgumentError('Processor: not running');
    return this.#supervisor.visitAll(name, meta, options.signal);
  }
}
