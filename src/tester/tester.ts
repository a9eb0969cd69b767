// partita/tester: unit tests of a group's callbacks without Kafka (Goka's tester, improved: any
// number of partitions, several processors, views, visitors). The real runtime runs in this
// thread (workers: 0, memory storage) on MemoryKafka, an in-memory implementation of the Kafka
// ports: the same actors, hashers, codecs, changelogs and commits as in production.
import { decodeWith, encodeWith, keyBytes, type Codec } from '../codec/codec.js';
import { Emitter, type EmitOptions } from '../emitter.js';
import { InvalidArgumentError, StateError } from '../errors.js';
import { isGroupGraph, type GraphType, type GroupGraph, type OutputName, type OutputValue, type TableValue, type VisitorMeta, type VisitorName } from '../graph/define-group.js';
import { loadGroupModule } from '../graph/load.js';
import { loopTopic, tableTopic } from '../graph/naming.js';
import { hashers, type Hasher } from '../hashers.js';
import { mergeHeaders, type Headers, type HeadersInit } from '../headers.js';
import type { ProducerPort } from '../kafka/ports.js';
import { Processor, type ProcessorOptions, type UntypedGraph } from '../processor.js';
import { View } from '../view.js';
import { pino } from 'pino';
import { MemoryKafka } from './memory-kafka.js';
import { idleStats, type ProcessorStats } from '../stats.js';

export interface TesterOptions {
  /** Partition count of every topic the tester creates (default 1). */
  partitions?: number;
  hasher?: Hasher;
  /** Upper bound for consume() to settle (default 10 s). */
  settleTimeoutMs?: number;
}

export type TesterProcessorOptions = Omit<ProcessorOptions, 'brokers' | 'group' | 'workers' | 'storage' | 'kafkaClient'>;

export interface QueuedRecord<T = unknown> {
  key: string;
  value: T | null;
  headers: Headers;
  partition: number;
  offset: number;
}

/** Records written to a topic, read one at a time (Goka's queue tracker). */
export interface Queue<T> {
  next(): QueuedRecord<T> | undefined;
}

/** A table topic as its changelog says; set() writes a record into it and waits until it is processed. */
export interface TableReader<T> {
  get(key: string): T | undefined;
  set(key: string, value: T | null): Promise<void>;
  keys(): string[];
}

/** A running processor of the tester (the real Processor, in this thread). */
interface Started {
  graph: GroupGraph;
  processor: Processor;
  options: TesterProcessorOptions;
  tableTopic: string;
  loopTopic: string;
  error?: Error;
}

/** A processor of the tester: reads as on a Processor; it starts at once and is awaited by every call. */
export class TesterProcessor<G extends GraphType = UntypedGraph> {
  readonly #started: Promise<Started>;
  readonly #tester: Tester;
  #now: Started | undefined;

  constructor(tester: Tester, started: Promise<Started>) {
    this.#tester = tester;
    this.#started = started;
    started.then((s) => (this.#now = s), () => undefined);
  }

  /** Resolves once the processor is recovered and processing; rejects if it failed to start. */
  async ready(): Promise<void> {
    await this.#started;
  }

  async get(key: string): Promise<TableValue<G> | undefined> {
    return (await this.#started).processor.get(key) as Promise<TableValue<G> | undefined>;
  }

  /**
   * Sets this key's value in the group table, as Goka's SetTableValue: the processor is
   * restarted around the write and recovers it, so the next consume sees it.
   */
  async setValue(key: string, value: TableValue<G> | null): Promise<void> {
    const s = await this.#started;
    if (!s.graph.persistEdge) throw new InvalidArgumentError(`Tester: group '${s.graph.group}' has no persist edge: it has no table to set`);
    await this.#tester.setTableValues(s, [[key, value]]);
  }

  /** This group's table, as its changelog says. */
  async table(): Promise<TableReader<TableValue<G>>> {
    return this.#tester.table<TableValue<G>>((await this.#started).tableTopic);
  }

  /** Records this group emits to a declared output from now on, decoded with the output's codec. */
  output<Topic extends OutputName<G>>(topic: Topic): Queue<OutputValue<G, Topic>> {
    return this.#tester.queue<OutputValue<G, Topic>>(topic);
  }

  stats(): ProcessorStats {
    return this.#now?.processor.stats() ?? idleStats();
  }

  /** Runs a visitor over every key, then waits until everything it caused ran. */
  async visitAll<Name extends VisitorName<G>>(name: Name, meta?: VisitorMeta<G, Name>): Promise<{ visited: number }> {
    const s = await this.#started;
    await this.#tester.settle();
    const r = await s.processor.visitAll(name, meta as never);
    await this.#tester.settle();
    return r;
  }

  stop(): Promise<void> {
    return this.#started.then((s) => s.processor.stop(), () => undefined);
  }
}

export class Tester {
  readonly kafka = new MemoryKafka();
  readonly partitions: number;
  readonly #hasher: Hasher;
  readonly #settleMs: number;
  readonly #processors: Started[] = [];
  readonly #starting: Promise<unknown>[] = [];
  readonly #views: View<unknown>[] = [];
  readonly #codecs = new Map<string, Codec<unknown>>();
  readonly #producer: ProducerPort;
  readonly #log = pino({ level: 'silent' });

  constructor(options: TesterOptions = {}) {
    this.partitions = options.partitions ?? 1;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) throw new InvalidArgumentError(`Tester: partitions must be a whole number ≥ 1, got ${options.partitions}`);
    this.#hasher = options.hasher ?? hashers.murmur2;
    this.#settleMs = options.settleTimeoutMs ?? 10_000;
    this.#producer = this.#client().producer();
  }

  #client() {
    return this.kafka.client({ brokers: ['tester'], clientId: 'partita-tester', logger: this.#log, brokerOutageMs: 60_000, connectTimeoutMs: 10_000 });
  }

  #ensure(topic: string, config: Record<string, string> = {}): void {
    this.kafka.createTopic(topic, this.partitions, config);
  }

  #learn(topic: string, codec: Codec<unknown>): void {
    if (!this.#codecs.has(topic)) this.#codecs.set(topic, codec);
  }

  /**
   * Registers and starts a processor: a group graph or the URL of a group module, with the
   * options of a Processor (it always runs in this thread, on memory storage).
   */
  processor<G extends GraphType = UntypedGraph>(group: G | URL | string, options: TesterProcessorOptions = {}): TesterProcessor<G> {
    const started = (async (): Promise<Started> => {
      const graph = isGroupGraph(group) ? group.validate() : await loadGroupModule(group instanceof URL ? group.href : String(group));
      const naming = { ...(options.tableSuffix !== undefined ? { tableSuffix: options.tableSuffix } : {}), ...(options.loopSuffix !== undefined ? { loopSuffix: options.loopSuffix } : {}) };
      const table = tableTopic(graph.group, naming);
      const loop = loopTopic(graph.group, naming);
      for (const e of graph.inputEdges) for (const t of e.topics) { this.#ensure(t); this.#learn(t, e.codec); }
      for (const e of graph.outputEdges) { this.#ensure(e.topic); this.#learn(e.topic, e.codec); }
      for (const e of [...graph.joinEdges, ...graph.lookupEdges]) { this.#ensure(e.table, { 'cleanup.policy': 'compact' }); this.#learn(e.table, e.codec); }
      if (graph.persistEdge) this.#learn(table, graph.persistEdge.codec);
      if (graph.loopEdge) this.#learn(loop, graph.loopEdge.codec);
      const s: Started = { graph, processor: undefined as never, options, tableTopic: table, loopTopic: loop };
      this.#processors.push(s);
      await this.#run(s);
      return s;
    })();
    this.#starting.push(started.catch(() => undefined));
    return new TesterProcessor<G>(this, started);
  }

  /** Starts (or restarts) the Processor of `s`; it recovers its tables from the changelogs. */
  async #run(s: Started): Promise<void> {
    const p = new Processor({
      logger: this.#log,
      commitIntervalMs: 2,
      stopTimeoutMs: 2000,
      hasher: this.#hasher,
      ...s.options,
      brokers: ['tester'],
      group: s.graph,
      workers: 0,
      storage: 'memory',
      kafkaClient: this.kafka.client,
    });
    s.processor = p;
    delete s.error;
    const done = p.run().catch((err: Error) => {
      if (s.processor === p) s.error = err;
    });
    await Promise.race([p.ready(), done]);
    if (s.error) throw s.error;
  }

  /**
   * @internal Use TesterProcessor.setValue or table(groupTable).set.
   * Writes keys of a processor's own group table (Goka's SetTableValue). An actor owns its
   * table, so the processor is stopped, the records are appended to the changelog, and it is
   * started again: it recovers them as it would after a restart.
   */
  async setTableValues(s: Started, values: Iterable<[string, unknown]>): Promise<void> {
    await this.settle();
    await s.processor.stop();
    for (const [key, value] of values) await this.#send(s.tableTopic, key, value, {});
    await this.#run(s);
    await this.settle();
  }

  /**
   * Produces one record and resolves once everything it caused ran, transitively: callbacks,
   * loopbacks, emits into inputs of other processors, table updates seen by joins, lookups and
   * views. Rejects with a processor's error if a callback failed.
   */
  async consume(topic: string, key: string, value: unknown, options: { headers?: HeadersInit; timestamp?: number } = {}): Promise<void> {
    await Promise.all(this.#starting);
    this.#ensure(topic);
    await this.#send(topic, key, value, options);
    await this.settle();
  }

  async #send(topic: string, key: string, value: unknown, options: { headers?: HeadersInit; timestamp?: number }): Promise<void> {
    const kb = keyBytes(key);
    await this.#producer.send([{
      topic,
      partition: this.#hasher(kb, this.kafka.records(topic).length),
      key: kb,
      value: this.#encode(topic, value),
      headers: mergeHeaders(options.headers),
      timestamp: options.timestamp,
    }]);
  }

  #encode(topic: string, value: unknown): Uint8Array | null {
    if (value === null) return null;
    const codec = this.#codecs.get(topic);
    if (codec) return encodeWith(codec, value);
    if (value instanceof Uint8Array) return value;
    throw new InvalidArgumentError(`Tester: no codec is known for topic '${topic}' (no registered processor reads or writes it): pass bytes`);
  }

  #decode(topic: string, bytes: Uint8Array | null): unknown {
    if (bytes === null) return null;
    const codec = this.#codecs.get(topic);
    return codec ? decodeWith(codec, bytes) : bytes;
  }

  /** Waits until no delivery is pending and every processor and view has caught up with every topic it reads. */
  async settle(): Promise<void> {
    const deadline = Date.now() + this.#settleMs;
    let quietTurns = 0;
    for (;;) {
      const failed = this.#processors.find((p) => p.error);
      if (failed) throw failed.error;
      await this.kafka.idle();
      // Settled twice in a row, an event-loop turn apart: nothing was in flight between checks.
      quietTurns = this.#caughtUp() ? quietTurns + 1 : 0;
      if (quietTurns >= 2) return;
      if (Date.now() > deadline) throw new StateError(`Tester: processing did not settle within ${this.#settleMs} ms`);
      await new Promise((r) => setTimeout(r, quietTurns > 0 ? 0 : 1));
    }
  }

  #caughtUp(): boolean {
    const end = (t: string, p: number) => this.kafka.endOffset(t, p);
    for (const tp of this.#processors) {
      if (tp.error) continue;
      for (const t of [...tp.graph.inputTopics(), ...(tp.graph.loopEdge ? [tp.loopTopic] : [])]) {
        for (let p = 0; p < this.partitions; p++) if ((this.kafka.committed(tp.graph.group, t, p) ?? 0) < end(t, p)) return false;
      }
      const stats = tp.processor.stats();
      for (const a of stats.actors) {
        for (const [table, position] of Object.entries(a.tables)) if (table !== tp.tableTopic && position < end(table, a.partition)) return false;
      }
      for (const l of stats.lookups) if (l.positions.some((pos, p) => pos < end(l.table, p))) return false;
    }
    for (const v of this.#views) {
      for (const part of v.stats().partitions) if (part.position < end(v.table, part.partition)) return false;
    }
    return true;
  }

  /** Records written to `topic` from now on, one at a time. */
  queue<T = unknown>(topic: string): Queue<T> {
    this.#ensure(topic);
    const cursor = this.kafka.records(topic).map((log) => log.length);
    return {
      next: () => {
        const logs = this.kafka.records(topic);
        for (let p = 0; p < logs.length; p++) {
          const r = logs[p]![cursor[p]!];
          if (!r) continue;
          cursor[p]!++;
          const headers: Headers = {};
          for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = v;
          return { key: r.key === null ? '' : new TextDecoder().decode(r.key), value: this.#decode(topic, r.value) as T | null, headers, partition: p, offset: r.offset };
        }
        return undefined;
      },
    };
  }

  /** A table topic as its changelog says: group tables, joined and looked-up tables. */
  table<T = unknown>(topic: string): TableReader<T> {
    const latest = () => {
      const out = new Map<string, Uint8Array | null>();
      for (const log of this.kafka.records(topic)) for (const r of log) out.set(r.key === null ? '' : new TextDecoder().decode(r.key), r.value);
      return out;
    };
    return {
      get: (key) => {
        const v = latest().get(key);
        return v === undefined || v === null ? undefined : (this.#decode(topic, v) as T);
      },
      set: async (key, value) => {
        await Promise.all(this.#starting);
        const owner = this.#processors.find((p) => p.tableTopic === topic && p.graph.persistEdge);
        if (owner) return this.setTableValues(owner, [[key, value]]);
        this.#ensure(topic, { 'cleanup.policy': 'compact' });
        await this.#send(topic, key, value, {});
        await this.settle();
      },
      keys: () => [...latest()].filter(([, v]) => v !== null).map(([k]) => k).sort(),
    };
  }

  /** A View of a table, on the tester's cluster. */
  async view<T>(table: string, codec: Codec<T>): Promise<View<T>> {
    this.#ensure(table, { 'cleanup.policy': 'compact' });
    this.#learn(table, codec as Codec<unknown>);
    const v = new View<T>({ brokers: ['tester'], table, codec, storage: 'memory', hasher: this.#hasher, logger: this.#log, kafkaClient: this.kafka.client });
    void v.run().catch(() => undefined);
    this.#views.push(v as View<unknown>);
    await v.ready();
    return v;
  }

  /** An emitter into the tester's cluster whose emits resolve once everything they caused ran. */
  emitter<T>(topic: string, codec: Codec<T>): { emit(key: string, value: T | null, options?: EmitOptions): Promise<void> } {
    this.#ensure(topic);
    this.#learn(topic, codec as Codec<unknown>);
    const e = new Emitter<T>({ brokers: ['tester'], topic, codec, hasher: this.#hasher, logger: this.#log, kafkaClient: this.kafka.client });
    return {
      emit: async (key, value, options) => {
        await Promise.all(this.#starting);
        await e.emit(key, value, options);
        await this.settle();
      },
    };
  }

  /** Stops every processor and view. */
  async close(): Promise<void> {
    await Promise.all(this.#starting);
    await Promise.all([...this.#processors.map((p) => p.processor.stop()), ...this.#views.map((v) => v.stop())]);
  }
}
