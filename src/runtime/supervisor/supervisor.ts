// Owns one running processor instance: topics, the consumer group, the actor pool, one
// handle per assigned partition, the producer and the commit loop. Lifecycle: idle →
// starting → running → stopping → stopped | failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyBytes, decodeWith } from '../../codec/codec.js';
import { BrokerUnavailableError, VisitAbortedError, NotCopartitionedError, NotFoundError, StateError, StoppedError, TopicError, InvalidArgumentError, type WorkerCrashedError } from '../../errors.js';
import type { GroupGraph } from '../../graph/define-group.js';
import type { GroupMemberPort, KafkaClient, ProducerPort, ReaderPort, RecordChunk } from '../../kafka/ports.js';
import { TopicManager } from '../../kafka/topic-manager.js';
import type { Logger } from '../../logger.js';
import { Lifecycle, PROCESSOR_TRANSITIONS, type ProcessorState } from '../lifecycle.js';
import type { ActorInit } from '../protocol.js';
import { ActorHandle, type HandleDeps } from './actor-handle.js';
import { InlinePool, WithMainThread, type ActorPool } from './actor-pool.js';
import { startThreads } from './thread-pool.js';
import type { ResolvedOptions } from './options.js';
import { LookupTable, type LookupStats } from '../../table/lookup-table.js';
import { StandbyPartition } from './standby.js';
import { OffsetsWatch } from './offsets-watch.js';
import { ProcessorCounters } from './counters.js';
import type { ProcessorStats } from '../../stats.js';

/** How long placement waits, once the threads are up, for the first read of the input offsets. */
const PLACEMENT_WAIT_MS = 1000;

export class Supervisor {
  readonly life = new Lifecycle<ProcessorState>('processor', 'idle', PROCESSOR_TRANSITIONS);
  readonly #o: ResolvedOptions;
  readonly #graph: GroupGraph;
  readonly #log: Logger;
  readonly #handles = new Map<number, ActorHandle>();
  readonly #retiring = new Map<number, Promise<void>>();
  /** Handles being stopped: their last offsets still need committing. */
  readonly #leaving = new Set<ActorHandle>();
  #pool: ActorPool | undefined;
  #client: KafkaClient | undefined;
  readonly #lookups: LookupTable[] = [];
  /** Hot-standby partitions (and recover-ahead ones before the join), by partition. */
  readonly #standbys = new Map<number, StandbyPartition>();
  /** A standby being closed for a takeover: the new actor opens the stores after it. */
  readonly #standbyClosing = new Map<number, Promise<void>>();
  /** A temp dir for lookup tables when storage is 'memory' (removed at shutdown). */
  #lookupTmp: string | undefined;
  #consumer: GroupMemberPort | undefined;
  #producer: ProducerPort | undefined;
  #reader: ReaderPort | undefined;
  /** The actor threads are up (each loaded the group module) and the group table exists: actors may open. */
  #actorsReady: Promise<void> | undefined;
  /** The group table topic exists with the inputs' partition count (standbys read it). */
  #tableReady: Promise<void> = Promise.resolve();
  #topics: TopicManager | undefined;
  #partitionCounts = new Map<string, number>();
  #npar = 0;
  #joined = false;
  /** The current assignment's "recovered" line was logged. */
  #announced = false;
  #error: Error | undefined;
  #readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #commitTimer: NodeJS.Timeout | undefined;
  #earlyCommit: NodeJS.Timeout | undefined;
  #lastCommitAt = 0;
  #offsets: OffsetsWatch | undefined;
  /** The first read of the input offsets, which placement by backlog waits for (bounded). */
  #offsetsRead: Promise<void> = Promise.resolve();
  readonly #counters = new ProcessorCounters();
  /** The topics the group member consumes: the inputs and the loop topic. */
  #consumed: string[] = [];
  #committing: Promise<void> = Promise.resolve();
  #stopRequested: (() => void) | undefined;
  readonly #stopSignal: Promise<void>;
  #startedAt = 0;
  #stopping = false;

  constructor(graph: GroupGraph, options: ResolvedOptions) {
    this.#graph = graph;
    this.#o = options;
    this.#log = options.logger.child({ group: graph.group });
    this.#stopSignal = new Promise<void>((r) => (this.#stopRequested = r));
  }

  get group(): string {
    return this.#graph.group;
  }

  /** Runs until stop() or the first fatal error. */
  async run(): Promise<void> {
    this.life.to('starting');
    this.#startedAt = Date.now();
    try {
      await this.#start();
    } catch (err) {
      this.#fail(err as Error);
    }
    if (!this.#error && this.life.is('starting')) this.life.to('running');
    this.#checkReady();
    await this.#stopSignal;
    await this.#shutdown();
    if (this.#error) throw this.#error;
  }

  async #start(): Promise<void> {
    const g = this.#graph;
    const o = this.#o;
    const client = o.kafkaClient({
      brokers: o.brokers,
      clientId: o.clientId,
      logger: this.#log,
      brokerOutageMs: o.brokerOutageMs,
      connectTimeoutMs: o.connectTimeoutMs,
    });
    this.#client = client;
    const admin = client.admin();
    this.#topics = new TopicManager(admin, this.#log, o.topics);
    const inputs = g.inputTopics();
    // Partition p of every input and every joined table meets in actor p.
    const copartitioned = [...inputs, ...g.joinEdges.map((j) => j.table)];
    // The actor threads start (each loads the group module) while the topics are checked and
    // created and the lookups recovered: on a small host that was the largest part of start-up.
    // With `workers` given they need not wait for the inputs' partition count either.
    const startPool = (workers: number) => {
      if (o.inline) {
        this.#pool = new InlinePool(g);
        return this.#pool.start();
      }
      // With `workers` given, Processor.run() started the threads before the group module loaded here.
      const threads = o.threads ?? startThreads(workers, o.groupModule!, g.group);
      threads.pool.adopt(g.group, (err) => this.#onWorkerCrash(err));
      if (!o.mainThreadActors) {
        this.#pool = threads.pool;
        return threads.started; // awaited below; a failure before that is reported there
      }
      const pool = new WithMainThread(threads.pool, new InlinePool(g));
      this.#pool = pool;
      return Promise.all([threads.started, pool.start()]).then(() => undefined);
    };
    let poolStarted = o.workers !== undefined ? startPool(o.workers) : undefined;
    const tableT = o.tableTopic;
    const loopT = o.loopTopic;
    const outputs = g.outputEdges.map((e) => e.topic);
    // One metadata request answers every topic question of start-up.
    const counts = await this.#topics.partitionCounts([...new Set([...copartitioned, loopT, tableT, ...outputs, ...g.lookupEdges.map((e) => e.table)])]);
    this.#npar = await this.#topics.checkCopartitioned(copartitioned, `group '${g.group}' inputs${g.joinEdges.length > 0 ? ' and joined tables' : ''}`, counts);
    poolStarted ??= startPool(Math.max(1, Math.min(this.#npar, availableParallelism())));
    // The loop and the table must be co-partitioned with the inputs whatever the mismatch policy:
    // recovery reads table partition p for input partition p.
    const checkOwn = (t: string, n: number) => {
      if (n !== this.#npar) throw new NotCopartitionedError({ ...Object.fromEntries(inputs.map((i) => [i, this.#npar])), [t]: n }, `group '${g.group}'`);
    };
    // The member consumes the loop topic, so it exists before the join. The table is read only by
    // the actors: it is created or checked while the group is joined (#open waits for it).
    if (g.loopEdge) checkOwn(loopT, await this.#topics.ensureStream(loopT, this.#npar, counts));
    const tableReady = g.persistEdge ? this.#topics.ensureTable(tableT, this.#npar, counts).then((n) => checkOwn(tableT, n)) : Promise.resolve();
    tableReady.catch(() => undefined); // awaited by #open and at the end of #start
    for (const t of outputs) {
      if (!counts.has(t)) throw new TopicError(t, `group '${g.group}': output topic '${t}' not found (create it first)`);
    }
    this.#partitionCounts = new Map([...counts, [loopT, this.#npar], [tableT, this.#npar]]);
    this.#tableReady = tableReady;
    this.#actorsReady = Promise.all([poolStarted, tableReady]).then(() => undefined);
    this.#actorsReady.catch(() => undefined);
    if (this.#stopped()) return;
    await this.#openLookups(client, counts);
    if (this.#stopped()) return;
    if (o.recoverAhead && g.persistEdge) {
      await tableReady;
      await this.#recoverAhead();
    }
    if (this.#stopped()) return;

    // The group is joined while the threads still load the group module: actors are opened
    // once the pool is up and the table exists (#open), and records fetched meanwhile wait in
    // their handles.
    this.#producer = client.producer();
    this.#reader = client.reader();
    if (this.#stopped()) return;

    this.#consumed = [...inputs, ...(g.loopEdge ? [loopT] : [])];
    this.#offsets = new OffsetsWatch(admin, g.group, this.#consumed, this.#log);
    this.#offsetsRead = this.#offsets.start(o.offsetsRefreshMs);
    this.#consumer = client.groupMember({
      groupId: g.group,
      topics: this.#consumed,
      sessionTimeoutMs: o.sessionTimeoutMs,
      stopTimeoutMs: o.stopTimeoutMs,
    });
    this.#commitTimer = setInterval(() => void this.#commit(), this.#o.commitIntervalMs);
    await this.#consumer.start({
      onAssignment: (parts) => this.#onAssignment(parts),
      onBatch: (topic, partition, chunk, hwm) => this.#onBatch(topic, partition, chunk, hwm),
      onFatal: (err) => this.#fail(err),
    });
    await this.#actorsReady;
  }

  /**
   * Looked-up tables are recovered before the group is joined (no input is consumed without
   * them), once for the whole process, then followed.
   */
  async #openLookups(client: KafkaClient, counts: Map<string, number>): Promise<void> {
    const edges = this.#graph.lookupEdges;
    if (edges.length === 0) return;
    const spec = this.#o.storage;
    const dir = spec.kind === 'lmdb' ? join(spec.path, 'lookups') : (this.#lookupTmp = mkdtempSync(join(tmpdir(), `partita-lookups-${this.#graph.group}-`)));
    for (const e of edges) {
      const n = counts.get(e.table);
      if (n === undefined) throw new TopicError(e.table, `group '${this.#graph.group}': looked-up table '${e.table}' not found`);
      const t = new LookupTable(e.table, join(dir, e.table), n, client, this.#o.hasher, this.#log, e.onUpdate ? { codec: e.codec, onUpdate: e.onUpdate } : undefined);
      this.#lookups.push(t);
    }
    const started = Date.now();
    await Promise.all(this.#lookups.map((t) => t.restore()));
    this.#log.info({ lookups: this.#lookups.map((t) => t.stats()), ms: Date.now() - started }, 'lookup tables recovered');
    for (const t of this.#lookups) t.follow((err) => this.#fail(err));
  }

  /**
   * Recover-ahead: every partition's tables restored locally before the group is joined, so an
   * assignment reads only the delta. With hot standby they stay and follow; else they close.
   */
  async #recoverAhead(): Promise<void> {
    const started = Date.now();
    const parts = Array.from({ length: this.#npar }, (_, p) => this.#newStandby(p));
    await Promise.all(parts.map((s) => s.restore()));
    const records = parts.reduce((n, s) => n + (s.stats().recovery?.records ?? 0), 0);
    this.#log.info({ partitions: this.#npar, records, ms: Date.now() - started }, 'recovered every partition ahead of joining');
    for (const s of parts) {
      if (this.#o.hotStandby) {
        this.#standbys.set(s.partition, s);
        s.follow((err) => this.#fail(err));
      } else {
        await s.close();
      }
    }
  }

  #newStandby(p: number): StandbyPartition {
    const tables = [this.#o.tableTopic, ...this.#graph.joinEdges.map((j) => j.table)];
    return new StandbyPartition(p, tables, this.#o.storage, this.#client!.reader(), this.#log.child({ standby: p }), (t) => this.#graph.updateFor(t, this.#o.tableTopic));
  }

  /** A partition this instance no longer (or not yet) owns becomes a standby once its actor closed. */
  async #startStandby(p: number): Promise<void> {
    await this.#retiring.get(p)?.catch(() => undefined);
    // A failed table check fails the processor through #open; no standby starts then.
    if (!(await this.#tableReady.then(() => true, () => false))) return;
    if (this.#stopped() || this.#handles.has(p) || this.#standbys.has(p)) return;
    const s = this.#newStandby(p);
    this.#standbys.set(p, s);
    try {
      await s.restore();
      if (this.#standbys.get(p) === s) s.follow((err) => this.#fail(err));
    } catch (err) {
      if (this.#standbys.get(p) === s && !this.#stopped()) this.#fail(err as Error);
    }
  }

  #stopped(): boolean {
    return this.#stopping || !this.life.is('starting', 'running');
  }

  #deps(partition: number): HandleDeps {
    // Only the current owner of a partition may pause or resume it: a retiring handle must not
    // touch the fetch state of its successor.
    const mine = (h: ActorHandle | undefined) => h !== undefined && this.#handles.get(partition) === h;
    return {
      group: this.#graph.group,
      tableTopic: this.#o.tableTopic,
      hasTable: this.#graph.persistEdge !== undefined,
      joins: this.#graph.joinEdges.map((j) => j.table),
      producer: this.#producer!,
      reader: this.#reader!,
      newReader: () => this.#client!.reader(),
      hasher: this.#o.hasher,
      partitionsOf: (t) => this.#partitionCounts.get(t) ?? 1,
      log: this.#log,
      maxInflight: this.#o.maxInflight,
      stopTimeoutMs: this.#o.stopTimeoutMs,
      fail: (err) => this.#fail(err),
      changed: () => this.#checkReady(),
      caughtUp: () => this.#onCaughtUp(),
      counters: this.#counters,
      pause: (h) => {
        if (mine(h)) this.#consumer?.pause(partition);
      },
      resume: (h) => {
        if (mine(h)) this.#consumer?.resume(partition);
      },
    };
  }

  #onAssignment(partitions: number[]): void {
    if (this.#stopped()) return;
    this.#counters.rebalanced();
    const keep = new Set(partitions);
    for (const [p, h] of this.#handles) {
      if (keep.has(p)) continue;
      this.#handles.delete(p);
      this.#retire(p, h);
    }
    const fresh: ActorHandle[] = [];
    for (const p of partitions) {
      if (this.#handles.has(p)) continue;
      const standby = this.#standbys.get(p);
      if (standby) {
        // Takeover: the standby closes its stores; the actor opens them and reads the delta.
        this.#standbys.delete(p);
        this.#standbyClosing.set(p, standby.close().finally(() => this.#standbyClosing.delete(p)));
      }
      const h = new ActorHandle(p, this.#deps(p));
      this.#handles.set(p, h);
      // A pause may outlive a reassignment in the client: a new owner starts unpaused.
      this.#consumer?.resume(p);
      fresh.push(h);
    }
    void this.#openAll(fresh);
    if (this.#o.hotStandby && this.#graph.persistEdge) {
      for (let p = 0; p < this.#npar; p++) if (!keep.has(p)) void this.#startStandby(p);
    }
    this.#joined = true;
    this.#announced = false;
    this.#log.info({ partitions }, 'assignment');
    this.#o.onRebalance?.({ partitions: [...partitions] });
    this.#checkReady();
  }

  /** Records of partition p's inputs not yet committed, from the last offsets read (undefined before the first). */
  #backlog(p: number): number | undefined {
    let sum: number | undefined;
    for (const t of this.#consumed) {
      const high = this.#offsets?.highWatermark(t, p);
      if (high === undefined) continue;
      sum = (sum ?? 0) + Math.max(0, high - (this.#offsets?.committed(t, p) ?? 0));
    }
    return sum;
  }

  /**
   * Opens the actors of an assignment once the threads are up, largest backlog first, so that
   * placement spreads a catch-up over the threads (placeActor). The backlogs come from the first
   * read of the input offsets, started before the join; placement waits for it at most
   * PLACEMENT_WAIT_MS past the threads' start, else places by partition count alone.
   */
  async #openAll(handles: ActorHandle[]): Promise<void> {
    try {
      await this.#actorsReady;
    } catch (err) {
      if (handles.some((h) => h.state !== 'closed')) this.#fail(err as Error);
      return;
    }
    // With one thread (or none) there is nothing to choose.
    if (this.#pool!.size > 1) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#offsetsRead, new Promise<void>((r) => (timer = setTimeout(r, PLACEMENT_WAIT_MS)))]);
      clearTimeout(timer);
    }
    const byBacklog = handles.map((h) => ({ h, backlog: this.#backlog(h.partition) ?? 0 })).sort((a, b) => b.backlog - a.backlog);
    for (const { h, backlog } of byBacklog) void this.#open(h, backlog);
  }

  /** One actor of #openAll, the threads up. */
  async #open(h: ActorHandle, backlog: number): Promise<void> {
    try {
      // A partition revoked and assigned again waits until its old actor closed its store.
      await this.#retiring.get(h.partition);
      await this.#standbyClosing.get(h.partition);
      if (this.#handles.get(h.partition) !== h || this.#stopped()) return;
      const init: ActorInit = {
        group: this.#graph.group,
        partition: h.partition,
        tableTopic: this.#o.tableTopic,
        joins: this.#graph.joinEdges.map((j) => j.table),
        lookups: this.#lookups.map((t) => ({ table: t.table, path: t.path })),
        loopTopic: this.#o.loopTopic,
        nilHandling: this.#o.nilHandling,
        storage: this.#o.storage,
        flushEvery: this.#o.flushEvery,
        defaultHeaders: this.#o.defaultHeaders,
      };
      const placed = this.#pool!.open(init, backlog);
      await h.attach(placed.port, placed.host);
    } catch (err) {
      if (h.state !== 'closed') this.#fail(err as Error);
    }
  }

  #retire(p: number, h: ActorHandle): Promise<void> {
    this.#leaving.add(h);
    // Retirements of one partition run one after the other, so a successor that waits on the
    // latest one also waits for every older owner to have closed its store.
    const prev = this.#retiring.get(p);
    const done = (async () => {
      await prev?.catch(() => undefined);
      await h.stop();
      await this.#commit();
      if (h.host >= 0) this.#pool?.release(h.host, p);
    })().finally(() => {
      this.#leaving.delete(h);
      if (this.#retiring.get(p) === done) this.#retiring.delete(p);
    });
    this.#retiring.set(p, done);
    return done;
  }

  #onBatch(topic: string, partition: number, chunk: RecordChunk, hwm: number): void {
    if (this.#stopped()) return;
    this.#handles.get(partition)?.deliver(topic, chunk, hwm);
  }

  #onWorkerCrash(err: WorkerCrashedError): void {
    for (const h of [...this.#handles.values(), ...this.#leaving]) if (h.host === err.worker) h.kill(err);
    this.#fail(err);
  }

  /**
   * Once every partition has processed and acked all it fetched, its offsets need not wait for
   * the interval: they are committed now, or as soon as a fifth of the interval has passed since
   * the last commit (a trickle of input thus commits at most five times per interval).
   */
  #onCaughtUp(): void {
    if (this.#earlyCommit || this.#stopped() || !this.#consumer) return;
    for (const h of this.#handles.values()) if (!h.idle()) return;
    const wait = this.#lastCommitAt + this.#o.commitIntervalMs / 5 - Date.now();
    if (wait <= 0) {
      void this.#commit();
      return;
    }
    this.#earlyCommit = setTimeout(() => {
      this.#earlyCommit = undefined;
      void this.#commit();
    }, wait);
  }

  /** Commits every offset that is safe to commit (serialised; failures retried next tick). */
  #commit(): Promise<void> {
    this.#lastCommitAt = Date.now();
    this.#committing = this.#committing.then(async () => {
      if (!this.#consumer) return;
      const hs = [...this.#handles.values(), ...this.#leaving];
      const list = hs.flatMap((h) => h.pendingCommits());
      if (list.length === 0) return;
      try {
        // false: the member is rejoining (a fresh consumer after a crash); the offsets stay pending.
        if (!(await this.#consumer.commit(list))) return;
        for (const h of hs) h.markCommitted(list.filter((c) => c.partition === h.partition));
      } catch (err) {
        if (err instanceof BrokerUnavailableError) this.#fail(err);
        else this.#log.warn({ err }, 'offset commit failed; will retry');
      }
    });
    return this.#committing;
  }

  #fail(err: Error): void {
    if (!this.#error) {
      this.#error = err;
      this.#log.error({ err }, 'processor failed');
    }
    for (const w of this.#readyWaiters.splice(0)) w.reject(err);
    this.stop();
  }

  /** Requests a graceful stop; run() settles when it is done. */
  stop(): void {
    this.#stopping = true;
    this.#stopRequested?.();
  }

  async #shutdown(): Promise<void> {
    if (this.life.can('stopping')) this.life.to('stopping');
    for (const w of this.#readyWaiters.splice(0)) w.reject(this.#error ?? new StoppedError(`processor '${this.group}' stopped before it was ready`));
    const handles = [...this.#handles];
    this.#handles.clear();
    // Stop actors first (finish the record in hand, ack every effect), commit, then leave.
    await Promise.allSettled(handles.map(([p, h]) => this.#retire(p, h)));
    await Promise.allSettled([...this.#retiring.values()]);
    clearInterval(this.#commitTimer);
    clearTimeout(this.#earlyCommit);
    this.#offsets?.stop();
    await this.#commit();
    const quietly = (p: Promise<unknown> | undefined) => p?.catch((err) => this.#log.warn({ err }, 'error while closing'));
    await quietly(this.#consumer?.stop());
    await Promise.all([quietly(this.#pool?.close()), quietly(this.#producer?.close()), quietly(this.#reader?.close()), quietly(this.#topics?.close())]);
    // After the pool: no actor reads a lookup table any more.
    await Promise.all(this.#lookups.map((t) => quietly(t.close())));
    await Promise.all([...this.#standbys.values()].map((s) => quietly(s.close())));
    this.#standbys.clear();
    if (this.#lookupTmp) rmSync(this.#lookupTmp, { recursive: true, force: true });
    this.life.to(this.#error ? 'failed' : 'stopped');
  }

  #checkReady(): void {
    if (!this.#isReady()) return;
    if (!this.#announced) {
      // One line per assignment, once every partition is recovered (not one per partition).
      this.#announced = true;
      const hs = [...this.#handles.values()].sort((a, b) => a.partition - b.partition);
      this.#log.info({
        partitions: hs.map((h) => h.partition),
        recoveredRecords: hs.reduce((n, h) => n + (h.recovery?.records ?? 0) + (h.recovery?.caughtUp ?? 0), 0),
        recoveryMs: Math.max(0, ...hs.map((h) => h.recovery?.ms ?? 0)),
      }, 'partitions recovered and processing');
    }
    for (const w of this.#readyWaiters.splice(0)) w.resolve();
  }

  #isReady(): boolean {
    return this.life.is('running') && this.#joined && [...this.#handles.values()].every((h) => h.state === 'running');
  }

  ready(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.life.is('stopped', 'failed', 'stopping')) return Promise.reject(new StoppedError(`processor '${this.group}' is ${this.life.state}`));
    if (this.#isReady()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /**
   * Runs visitor `name` over every key of the partitions this instance holds, between their
   * input records; resolves when each visit's effects were acked.
   */
  async visitAll(name: string, meta: unknown, signal?: AbortSignal): Promise<{ visited: number }> {
    if (!this.#graph.visitorEdges.some((v) => v.name === name)) {
      throw new NotFoundError(`visitAll: group '${this.group}' has no visitor '${name}' (add visitor('${name}', callback))`);
    }
    if (!this.life.is('running')) throw new StateError(`visitAll('${name}'): processor '${this.group}' is ${this.life.state}`);
    if (signal?.aborted) throw new VisitAbortedError(name, 0, 'signal');
    const results = await Promise.all([...this.#handles.values()].map((h) => h.visit(name, meta, signal)));
    const visited = results.reduce((n, r) => n + r.visited, 0);
    if (results.some((r) => r.aborted)) {
      throw new VisitAbortedError(name, visited, signal?.aborted ? 'signal' : this.#stopping ? 'stop' : 'rebalance');
    }
    return { visited };
  }

  async get(key: string): Promise<unknown> {
    const persist = this.#graph.persistEdge;
    if (!persist) throw new InvalidArgumentError(`get: group '${this.group}' has no group table`);
    if (this.#npar === 0) throw new StateError(`get: processor '${this.group}' has not started`);
    const p = this.#o.hasher(keyBytes(key), this.#npar);
    const h = this.#handles.get(p);
    const standby = this.#standbys.get(p);
    if (standby && standby.state === 'standby' && (!h || h.state !== 'running')) {
      const bytes = standby.get(key);
      return bytes === undefined ? undefined : decodeWith(persist.codec, bytes);
    }
    if (!h || !['recovering', 'running'].includes(h.state)) {
      throw new NotFoundError(`get('${key}'): key is in partition ${p} of '${this.#o.tableTopic}', which this instance does not hold`);
    }
    const bytes = await h.get(key);
    return bytes === null ? undefined : decodeWith(persist.codec, bytes);
  }

  stats(): ProcessorStats {
    const code = (this.#error as { code?: unknown } | undefined)?.code;
    return {
      group: this.group,
      state: this.life.state,
      connecting: this.#client?.isDown() ?? false,
      topics: {
        inputs: this.#graph.inputTopics(),
        table: this.#graph.persistEdge ? this.#o.tableTopic : null,
        loop: this.#graph.loopEdge ? this.#o.loopTopic : null,
        outputs: this.#graph.outputEdges.map((e) => e.topic),
      },
      partitions: this.#npar,
      uptimeMs: this.#startedAt ? Date.now() - this.#startedAt : 0,
      workers: this.#pool?.hosts() ?? [],
      error: this.#error ? { name: this.#error.name, message: this.#error.message, ...(typeof code === 'string' ? { code } : {}) } : null,
      actors: [...this.#handles.values()].sort((a, b) => a.partition - b.partition).map((h) => h.stats(this.#consumed, this.#offsets)),
      lookups: this.#lookups.map((t): LookupStats => t.stats()),
      standby: [...this.#standbys.values()].sort((a, b) => a.partition - b.partition).map((s) => s.stats()),
      counters: this.#counters.stats(),
      threads: this.#pool?.threadStats() ?? [],
    };
  }
}
