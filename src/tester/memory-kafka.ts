// An in-memory Kafka cluster behind partita's ports (src/kafka/ports.ts), for partita/tester:
// partita's real runtime runs in-thread against it, with no broker. Topics are append-only
// arrays per partition (no compaction, no retention: the low watermark is always 0); consumer
// groups assign with the same co-partitioning plan as the kafkajs client and deliver records
// asynchronously, so a tester can wait on idle() for "every record was handed over".
import { NotCopartitionedError, StoppedError, TopicError } from '../errors.js';
import { copartitionPlan } from '../kafka/copartition.js';
import type {
  AdminPort, ClientOptions, GroupDescription, GroupHandlers, GroupMemberOptions, GroupMemberPort, KafkaClient,
  KafkaClientFactory, KafkaRecord, OutRecord, ProduceAck, ProducerPort, ReaderPort, ReadOptions, RecordChunk, TopicOffset, TopicSpec, Watermarks,
} from '../kafka/ports.js';

/** Records per onBatch / per read chunk, so backpressure (pause) takes effect between chunks. */
const CHUNK = 500;

interface Topic {
  readonly config: Record<string, string>;
  readonly logs: KafkaRecord[][];
  /** Per partition: wake-ups of readers following it, called on append. */
  readonly waiters: Set<() => void>[];
}

interface Group {
  /** `topic\0partition` → the next offset to consume. */
  readonly committed: Map<string, number>;
  readonly members: Map<string, Member>;
}

const tp = (topic: string, partition: number) => `${topic}\0${partition}`;

class Cluster {
  readonly topics = new Map<string, Topic>();
  readonly groups = new Map<string, Group>();
  #members = 0;
  #idleWaiters: (() => void)[] = [];

  topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw new TopicError(name, `topic '${name}' does not exist`);
    return t;
  }

  log(topic: string, partition: number): KafkaRecord[] {
    const log = this.topic(topic).logs[partition];
    if (!log) throw new TopicError(topic, `topic '${topic}' has no partition ${partition}`);
    return log;
  }

  createTopic(name: string, partitions: number, config: Record<string, string> = {}): void {
    if (this.topics.has(name)) return;
    if (!Number.isInteger(partitions) || partitions < 1) throw new TopicError(name, `topic '${name}': partitions must be ≥ 1, got ${partitions}`);
    this.topics.set(name, {
      // Kafka reports its defaults too; partita's topic manager checks cleanup.policy.
      config: { 'cleanup.policy': 'delete', ...config },
      logs: Array.from({ length: partitions }, () => []),
      waiters: Array.from({ length: partitions }, () => new Set()),
    });
  }

  group(id: string): Group {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = { committed: new Map(), members: new Map() }));
    return g;
  }

  newMemberId(clientId: string): string {
    // Zero-padded, so sorting by id (the assignment plan) keeps the join order per client id.
    return `${clientId}-${String(++this.#members).padStart(6, '0')}`;
  }

  append(records: OutRecord[]): ProduceAck[] {
    // Validate the whole send first: it either appends everything or nothing.
    for (const r of records) this.log(r.topic, r.partition);
    const acks = new Map<string, ProduceAck>();
    const now = Date.now();
    for (const r of records) {
      const log = this.log(r.topic, r.partition);
      const key = tp(r.topic, r.partition);
      if (!acks.has(key)) acks.set(key, { topic: r.topic, partition: r.partition, baseOffset: log.length });
      // Copies: the caller may reuse its buffers after the send resolved.
      log.push({
        offset: log.length,
        timestamp: r.timestamp ?? now,
        key: r.key && r.key.slice(),
        value: r.value && r.value.slice(),
        headers: r.headers && Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.slice()])),
      });
    }
    for (const { topic, partition } of acks.values()) {
      for (const wake of [...this.topic(topic).waiters[partition]!]) wake();
      for (const g of this.groups.values()) for (const m of g.members.values()) if (m.owns(topic, partition)) m.schedule();
    }
    return [...acks.values()];
  }

  /** Recomputes the group's assignment over its members (sorted ids) and tells every member. */
  rebalance(groupId: string): void {
    const g = this.group(groupId);
    const members = [...g.members.values()];
    const counts: Record<string, number> = {};
    for (const m of members) for (const t of m.topics) { const n = this.topics.get(t)?.logs.length; if (n !== undefined) counts[t] = n; }
    const distinct = new Set(Object.values(counts));
    if (distinct.size > 1) {
      const err = new NotCopartitionedError(counts, `group '${groupId}' (memory assignor)`);
      for (const m of members) m.fail(err);
      return;
    }
    const plan = copartitionPlan(members.map((m) => m.id), [...distinct][0] ?? 0);
    for (const m of members) m.assign(plan.get(m.id) ?? [], g.committed);
  }

  isIdle(): boolean {
    for (const g of this.groups.values()) for (const m of g.members.values()) if (m.pending()) return false;
    return true;
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.isIdle()) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}

/** One member of a consumer group: its assignment, positions and pauses; delivers by setImmediate. */
class Member implements GroupMemberPort {
  readonly id: string;
  readonly topics: readonly string[];
  readonly #c: Cluster;
  readonly #groupId: string;
  readonly clientId: string;
  #h: GroupHandlers | undefined;
  #partitions = new Set<number>();
  /** `topic\0partition` → the next offset to deliver. */
  #positions = new Map<string, number>();
  // Kept across reassignments, as the kafkajs member does (the supervisor resumes new partitions).
  readonly #paused = new Set<number>();
  #scheduled = false;
  #active = false;
  #stopped = false;

  constructor(c: Cluster, o: GroupMemberOptions, clientId: string) {
    this.#c = c;
    this.#groupId = o.groupId;
    this.topics = [...o.topics];
    this.clientId = clientId;
    this.id = c.newMemberId(clientId);
  }

  async start(handlers: GroupHandlers): Promise<void> {
    if (this.#stopped) throw new StoppedError(`group member of '${this.#groupId}' was stopped`);
    this.#h = handlers;
    this.#active = true;
    this.#c.group(this.#groupId).members.set(this.id, this);
    // Synchronous: every member's onAssignment has run when start() resolves.
    this.#c.rebalance(this.#groupId);
  }

  /** Eager-protocol semantics: positions restart from the committed offsets (or 0), as after a Kafka rejoin. */
  assign(partitions: number[], committed: Map<string, number>): void {
    this.#partitions = new Set(partitions);
    this.#positions.clear();
    for (const t of this.topics) for (const p of partitions) this.#positions.set(tp(t, p), committed.get(tp(t, p)) ?? 0);
    this.#h!.onAssignment([...partitions]);
    this.schedule();
  }

  /** Membership lost for good: out of the group without a rebalance (the error is the group's, or this member's handler's). */
  fail(err: Error): void {
    if (!this.#active) return;
    this.#active = false;
    this.#c.group(this.#groupId).members.delete(this.id);
    this.#h?.onFatal(err);
    this.#c.checkIdle();
  }

  owns(topic: string, partition: number): boolean {
    return this.#active && this.#partitions.has(partition) && this.topics.includes(topic);
  }

  /** True while some record of an assigned, unpaused partition was not yet handed to onBatch. */
  pending(): boolean {
    if (!this.#active) return false;
    if (this.#scheduled) return true;
    for (const [key, pos] of this.#positions) {
      const [topic, p] = key.split('\0') as [string, string];
      if (!this.#paused.has(Number(p)) && pos < (this.#c.topics.get(topic)?.logs[Number(p)]?.length ?? 0)) return true;
    }
    return false;
  }

  schedule(): void {
    if (this.#scheduled || !this.#active) return;
    this.#scheduled = true;
    // Never inside send() or a handler: records arrive on a later turn, as from a real fetch.
    setImmediate(() => this.#pump());
  }

  #pump(): void {
    this.#scheduled = false;
    let more = false;
    for (const [key, pos] of this.#positions) {
      if (!this.#active) break;
      const [topic, ps] = key.split('\0') as [string, string];
      const p = Number(ps);
      const log = this.#c.topics.get(topic)?.logs[p];
      // Checked per partition: a handler may pause, or rebalance, during an earlier onBatch.
      if (!log || this.#paused.has(p) || pos >= log.length) continue;
      const batch = log.slice(pos, pos + CHUNK);
      this.#positions.set(key, pos + batch.length);
      if (pos + batch.length < log.length) more = true;
      try {
        this.#h!.onBatch(topic, p, { count: batch.length, last: batch[batch.length - 1]!.offset, records: batch }, log.length);
      } catch (err) {
        this.fail(err as Error);
      }
    }
    if (more) this.schedule();
    this.#c.checkIdle();
  }

  pause(partition: number): void {
    this.#paused.add(partition);
    this.#c.checkIdle();
  }

  resume(partition: number): void {
    if (this.#paused.delete(partition)) this.schedule();
  }

  async commit(offsets: TopicOffset[]): Promise<boolean> {
    if (offsets.length === 0) return true;
    if (!this.#active) return false;
    const committed = this.#c.group(this.#groupId).committed;
    for (const o of offsets) committed.set(tp(o.topic, o.partition), o.offset);
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (!this.#active) return;
    this.#active = false;
    this.#c.group(this.#groupId).members.delete(this.id);
    this.#c.rebalance(this.#groupId);
    this.#c.checkIdle();
  }
}

class MemoryProducer implements ProducerPort {
  readonly #c: Cluster;
  #closed = false;
  constructor(c: Cluster) {
    this.#c = c;
  }
  async send(records: OutRecord[]): Promise<ProduceAck[]> {
    if (this.#closed) throw new StoppedError('producer is closed');
    return this.#c.append(records);
  }
  async close(): Promise<void> {
    this.#closed = true;
  }
}

class MemoryReader implements ReaderPort {
  readonly #c: Cluster;
  /** Wake-ups of this reader's follows, so close() ends them. */
  readonly #wakes = new Set<() => void>();
  #closed = false;
  constructor(c: Cluster) {
    this.#c = c;
  }

  async watermarks(topic: string, partition: number): Promise<Watermarks> {
    return { low: 0, high: this.#c.log(topic, partition).length };
  }

  async *read(topic: string, partition: number, { from, to, signal }: ReadOptions): AsyncGenerator<RecordChunk> {
    const log = this.#c.log(topic, partition);
    const waiters = this.#c.topic(topic).waiters[partition]!;
    let next = Math.max(0, from);
    while (!this.#closed && !signal?.aborted) {
      const end = Math.min(to ?? Number.POSITIVE_INFINITY, log.length);
      if (next < end) {
        const chunk = log.slice(next, Math.min(end, next + CHUNK));
        next += chunk.length;
        yield { count: chunk.length, last: chunk[chunk.length - 1]!.offset, records: chunk };
        continue;
      }
      // Bounded read: done at `to` or at the end of the log, as the kafkajs reader.
      if (to !== undefined) return;
      // Following: sleep until an append, an abort or close() wakes us.
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          this.#wakes.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        waiters.add(wake);
        this.#wakes.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of [...this.#wakes]) wake();
  }
}

class MemoryAdmin implements AdminPort {
  readonly #c: Cluster;
  constructor(c: Cluster) {
    this.#c = c;
  }
  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const t of topics) { const n = this.#c.topics.get(t)?.logs.length; if (n !== undefined) out.set(t, n); }
    return out;
  }
  /** Idempotent (the ports' contract says it rejects; partita's callers check existence first). */
  async createTopic(spec: TopicSpec): Promise<void> {
    this.#c.createTopic(spec.topic, spec.partitions, spec.config);
  }
  async describeConfig(topic: string): Promise<Record<string, string>> {
    return { ...this.#c.topic(topic).config };
  }
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const g = this.#c.groups.get(groupId);
    const members = [...(g?.members.values() ?? [])].map((m) => ({ memberId: m.id, clientId: m.clientId, host: '/memory' }));
    return { groupId, state: !g ? 'Dead' : members.length > 0 ? 'Stable' : 'Empty', members };
  }
  async endOffsets(topic: string): Promise<number[]> {
    return this.#c.topic(topic).logs.map((log) => log.length);
  }
  async committedOffsets(groupId: string, topic: string): Promise<(number | null)[]> {
    const committed = this.#c.groups.get(groupId)?.committed;
    return this.#c.topic(topic).logs.map((_, p) => committed?.get(tp(topic, p)) ?? null);
  }
  async close(): Promise<void> {}
}

class MemoryClient implements KafkaClient {
  readonly brokers: readonly string[];
  readonly #c: Cluster;
  readonly #clientId: string;
  constructor(c: Cluster, o: ClientOptions) {
    this.#c = c;
    this.brokers = [...o.brokers];
    this.#clientId = o.clientId;
  }
  producer(): ProducerPort {
    return new MemoryProducer(this.#c);
  }
  reader(): ReaderPort {
    return new MemoryReader(this.#c);
  }
  admin(): AdminPort {
    return new MemoryAdmin(this.#c);
  }
  groupMember(options: GroupMemberOptions): GroupMemberPort {
    return new Member(this.#c, options, this.#clientId);
  }
  isDown(): boolean {
    return false;
  }
}

/** An in-memory Kafka cluster; pass `client` as a Processor's / Emitter's / View's kafkaClient. */
export class MemoryKafka {
  readonly #c = new Cluster();

  /** The KafkaClientFactory of this cluster (bound: pass it as is). */
  readonly client: KafkaClientFactory = (options) => new MemoryClient(this.#c, options);

  /** Creates a topic (no-op if it exists); config as Kafka's, e.g. { 'cleanup.policy': 'compact' }. */
  createTopic(name: string, partitions: number, config: Record<string, string> = {}): void {
    this.#c.createTopic(name, partitions, config);
  }

  /** Every record of a topic, per partition (copies of the logs; the records themselves are shared). */
  records(topic: string): KafkaRecord[][] {
    return this.#c.topic(topic).logs.map((log) => [...log]);
  }

  /** The group's committed offset (the next offset to consume), or undefined. */
  committed(group: string, topic: string, partition: number): number | undefined {
    return this.#c.groups.get(group)?.committed.get(tp(topic, partition));
  }

  /** The offset the next record of the partition will get. */
  endOffset(topic: string, partition: number): number {
    return this.#c.log(topic, partition).length;
  }

  /**
   * Resolves once no delivery is pending or scheduled: every record of an assigned, unpaused
   * partition was handed to its member's onBatch. (What the runtime then does with it, it tracks.)
   */
  idle(): Promise<void> {
    return this.#c.idle();
  }
}
