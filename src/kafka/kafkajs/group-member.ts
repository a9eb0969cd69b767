// GroupMemberPort on kafkajs consumers, with partita owning every restart.
//
// Why not kafkajs's own restart: after a crash kafkajs restarts the consumer from a timer; once
// that timer fired, `disconnect()` finds the new runner not yet running (it is marked running
// only after the join) and drops the only reference to it, so a processor that stopped can
// join its group afterwards and hold partitions nobody processes (kafkajs #1147, #1639; no fix
// released). So here: kafkajs never restarts (`restartOnFailure` is false); a crashed consumer
// is replaced by a fresh one (an "incarnation") after a backoff; each incarnation has its own
// SocketGate, shut when it is retired, so nothing of it can reach the broker again; `stop()`
// waits (bounded) for a join in progress before it disconnects, and finally leaves, by member
// id, every member of this instance the coordinator still lists (a crashed incarnation's, or
// one whose leave failed).
import { NotCopartitionedError, PartitaError, StateError, StoppedError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Lifecycle, MEMBER_TRANSITIONS, type MemberState } from '../../runtime/lifecycle.js';
import { delay, raceDeadline, type BrokerHealth } from '../broker-health.js';
import { copartitionPlan } from '../copartition.js';
import type { GroupDescription, GroupHandlers, GroupMemberOptions, GroupMemberPort, KafkaRecord, TopicOffset } from '../ports.js';
import type { PartitionAssigner } from 'kafkajs';
import { fetchRawBatches, rawChunkOf } from './raw-fetch.js';
import { clusterOf, createKafka, fromKafkajsHeaders, isRetriable, kafkajsModule, SocketGate, type KafkajsCluster, type KafkajsKafka } from './base.js';

export const COPARTITION_PROTOCOL = 'partita-copartition';
type KafkajsConsumer = ReturnType<KafkajsKafka['consumer']>;

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 5000;
const LEAVE_TIMEOUT_MS = 5000;

function copartitionAssigner(): PartitionAssigner {
  const { AssignerProtocol } = kafkajsModule();
  return ({ cluster }) => ({
    name: COPARTITION_PROTOCOL,
    version: 1,
    async assign({ members, topics }) {
      const counts: Record<string, number> = {};
      for (const t of topics) counts[t] = cluster.findTopicPartitionMetadata(t).length;
      const distinct = new Set(Object.values(counts));
      if (distinct.size > 1) throw new NotCopartitionedError(counts, 'co-partitioning assignor');
      const plan = copartitionPlan(members.map((m) => m.memberId), [...distinct][0] ?? 0);
      return members.map((m) => {
        const subscribed = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? topics;
        const parts = plan.get(m.memberId) ?? [];
        const assignment: Record<string, number[]> = {};
        for (const t of subscribed) if (parts.length > 0) assignment[t] = parts;
        return {
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
        };
      });
    },
    protocol({ topics }) {
      return { name: COPARTITION_PROTOCOL, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

/** One kafkajs consumer, from creation until it crashed or was stopped. */
interface Incarnation {
  readonly n: number;
  readonly gate: SocketGate;
  readonly consumer: KafkajsConsumer;
  /** consumer.run(): settles once the first join succeeded or failed. */
  running: Promise<void> | undefined;
  memberId: string | undefined;
  joined: boolean;
  retired: boolean;
}

export interface KafkajsMemberDeps {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  health: BrokerHealth;
}

export class KafkajsGroupMember implements GroupMemberPort {
  readonly life = new Lifecycle<MemberState>('group member', 'idle', MEMBER_TRANSITIONS);
  readonly #o: GroupMemberOptions;
  readonly #d: KafkajsMemberDeps;
  readonly #log: Logger;
  /** Unique per instance, so the coordinator's member list tells this instance's members apart. */
  readonly #clientId: string;
  readonly #paused = new Set<number>();
  /** Member ids of retired incarnations that the coordinator may still list. */
  readonly #stale = new Set<string>();
  #h: GroupHandlers | undefined;
  #inc: Incarnation | undefined;
  #incarnations = 0;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #firstJoin: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #startedAt = 0;
  #control: { kafka: KafkajsKafka; gate: SocketGate; cluster: KafkajsCluster; connected?: Promise<void> } | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: GroupMemberOptions, deps: KafkajsMemberDeps) {
    this.#o = options;
    this.#d = deps;
    // Web Crypto's global, not node:crypto: worker threads load this module (through the package
    // index) but never make a member, and node:crypto was ~5-15 ms of each thread's start.
    this.#clientId = `${deps.clientId}-${Buffer.from(crypto.getRandomValues(new Uint8Array(3))).toString('hex')}`;
    this.#log = deps.logger.child({ member: this.#clientId });
  }

  start(handlers: GroupHandlers): Promise<void> {
    this.#h = handlers;
    this.#startedAt = Date.now();
    this.life.to('joining');
    const joined = new Promise<void>((resolve, reject) => (this.#firstJoin = { resolve, reject }));
    void this.#noteWaitingMembers();
    void this.#spawn();
    return joined;
  }

  /**
   * Members an unclean exit left behind hold up the join until their session expires: say so,
   * once, instead of waiting silently.
   */
  async #noteWaitingMembers(): Promise<void> {
    let g: GroupDescription;
    try {
      g = await raceDeadline(this.#describe(), LEAVE_TIMEOUT_MS, () => new Error('timeout'));
    } catch {
      return; // the join itself reports an unreachable broker
    }
    // This instance's own join may already be listed (the describe raced it): not a waiting member.
    const others = g.members.filter((m) => m.clientId !== this.#clientId);
    if (others.length === 0 || this.#inc?.joined) return;
    this.#log.info({ group: this.#o.groupId, members: others.map((m) => `${m.clientId}@${m.host}`), state: g.state },
      `group '${this.#o.groupId}' has ${others.length} member(s) that have not left: the join waits until they rejoin, ` +
      `or, if they are gone (an unclean exit), until their session expires (up to their session timeout; ours is ${this.#o.sessionTimeoutMs / 1000} s)`);
  }

  async #spawn(): Promise<void> {
    const gate = new SocketGate();
    const kafka = createKafka({ brokers: this.#d.brokers, clientId: this.#clientId, logger: this.#d.logger, gate });
    fetchRawBatches(kafka);
    const consumer = kafka.consumer({
      groupId: this.#o.groupId,
      partitionAssigners: [copartitionAssigner()],
      allowAutoTopicCreation: false,
      sessionTimeout: this.#o.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3000, Math.floor(this.#o.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: 100,
      // Fetched batches stay bytes until the actor reads them (raw-fetch.ts), so what a fetch
      // holds is its size: 256 KiB per partition, 1 MiB in all (kafkajs's defaults: 1 MiB and
      // 10 MiB). Against 16 KiB per partition, a 1M-record backlog drains in 5.2 s instead of
      // 8-9 s for ~30 MiB more RSS. Pausing a partition only affects the next fetch, and
      // compressed batches still go through kafkajs's decoder, whole: hence the 1 MiB bound.
      // The broker returns a first record batch larger than this (KIP-74), so nothing stalls.
      maxBytesPerPartition: 256 * 1024,
      maxBytes: 1024 * 1024,
      // A few seconds of kafkajs-internal retries ride out a blip with the same member; longer
      // outages crash the consumer and partita replaces it (restartOnFailure false: see above).
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3000, restartOnFailure: async () => false },
    });
    const inc: Incarnation = { n: ++this.#incarnations, gate, consumer, running: undefined, memberId: undefined, joined: false, retired: false };
    this.#inc = inc;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.#onJoin(inc, e.payload.memberId, e.payload.memberAssignment as Record<string, number[]>, e.payload.duration));
    consumer.on(consumer.events.CRASH, (e) => this.#onCrash(inc, e.payload.error));
    consumer.on(consumer.events.HEARTBEAT, () => this.#d.health.ok());
    consumer.on(consumer.events.FETCH, () => this.#d.health.ok());
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.#o.topics, fromBeginning: true });
      inc.running = consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          if (inc.retired) return;
          const first = batch.messages[0];
          const raw = first && rawChunkOf(first);
          // Record batches as fetched (see raw-fetch.ts): nothing to do here when they held no
          // data record (control records, compaction gaps); kafkajs moves the offset on.
          if (raw) {
            if (raw.count > 0) this.#h!.onBatch(batch.topic, batch.partition, raw, Number(batch.highWatermark));
            return;
          }
          const records: KafkaRecord[] = batch.messages.map((m) => ({
            offset: Number(m.offset),
            timestamp: Number(m.timestamp),
            key: m.key,
            value: m.value,
            headers: fromKafkajsHeaders(m.headers),
          }));
          if (records.length === 0) return;
          const chunk = { count: records.length, last: records[records.length - 1]!.offset, records };
          this.#h!.onBatch(batch.topic, batch.partition, chunk, Number(batch.highWatermark));
        },
      });
      await inc.running;
    } catch (err) {
      this.#onCrash(inc, err as Error);
    }
  }

  #onJoin(inc: Incarnation, memberId: string, assignment: Record<string, number[]>, durationMs: number): void {
    if (inc.retired) {
      // Joined after it was retired (cannot happen once its gate is shut, but never leave it be).
      this.#stale.add(memberId);
      void this.#leaveStale();
      return;
    }
    inc.memberId = memberId;
    inc.joined = true;
    this.#d.health.ok();
    this.#restarts = 0;
    if (this.life.is('stopping', 'stopped', 'failed')) return; // stop() disconnects it, which leaves
    const first = this.#firstJoin !== undefined;
    if (!this.life.is('joined')) this.life.to('joined');
    const set = new Set<number>();
    for (const parts of Object.values(assignment)) for (const p of parts) set.add(p);
    const partitions = [...set].sort((a, b) => a - b);
    // A fresh consumer knows nothing of the pauses its predecessor had.
    const paused = partitions.filter((p) => this.#paused.has(p));
    if (paused.length > 0) inc.consumer.pause(this.#o.topics.map((topic) => ({ topic, partitions: paused })));
    if (first) {
      this.#log.info({ group: this.#o.groupId, ms: Date.now() - this.#startedAt }, 'joined group');
      this.#firstJoin!.resolve();
      this.#firstJoin = undefined;
    } else if (inc.n > 1 && durationMs >= 0) {
      this.#log.debug({ group: this.#o.groupId, incarnation: inc.n, ms: durationMs }, 'rejoined group');
    }
    this.#h!.onAssignment(partitions);
    if (this.#stale.size > 0) void this.#leaveStale();
  }

  #onCrash(inc: Incarnation, err: Error): void {
    if (inc.retired) return;
    this.#retire(inc);
    if (this.life.is('stopping', 'stopped', 'failed')) return;
    if (err instanceof PartitaError) return this.#fatal(err);
    if (!isRetriable(err)) {
      return this.#fatal(new StateError(`group '${this.#o.groupId}': the Kafka consumer failed: ${err.message}`, { cause: err }));
    }
    try {
      this.#d.health.failed(`consumer group '${this.#o.groupId}'`, err);
    } catch (unavailable) {
      return this.#fatal(unavailable as Error);
    }
    this.life.to('restarting');
    const backoff = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.#restarts++, Math.max(0, this.#d.health.remainingMs()));
    if (!this.#d.health.down) {
      this.#log.info({ group: this.#o.groupId, err: `${err.name}: ${err.message}`, inMs: backoff }, 'consumer crashed; a fresh one rejoins the group');
    }
    this.#restartTimer = setTimeout(() => void this.#restart(), backoff);
  }

  async #restart(): Promise<void> {
    if (!this.life.is('restarting')) return;
    // The crashed member's session would hold up our join until it expires: leave it first (and
    // any member under our client id the coordinator lists: a crash mid-join leaves one we never learnt).
    await this.#leaveStale(true);
    if (!this.life.is('restarting')) return;
    this.life.to('joining');
    await this.#spawn();
  }

  #retire(inc: Incarnation): void {
    inc.retired = true;
    inc.joined = false;
    if (inc.memberId) this.#stale.add(inc.memberId);
    inc.gate.close();
  }

  #fatal(err: Error): void {
    if (this.life.can('failed')) this.life.to('failed');
    this.#firstJoin?.reject(err);
    this.#firstJoin = undefined;
    this.#h?.onFatal(err);
  }

  pause(partition: number): void {
    this.#paused.add(partition);
    const inc = this.#inc;
    if (inc?.joined) inc.consumer.pause(this.#o.topics.map((topic) => ({ topic, partitions: [partition] })));
  }

  resume(partition: number): void {
    this.#paused.delete(partition);
    const inc = this.#inc;
    if (inc?.joined) inc.consumer.resume(this.#o.topics.map((topic) => ({ topic, partitions: [partition] })));
  }

  async commit(offsets: TopicOffset[]): Promise<boolean> {
    const inc = this.#inc;
    if (offsets.length === 0) return true;
    if (!inc?.joined) return false;
    try {
      await this.#d.health.call('commit offsets', () => inc.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) }))),
        { retriable: isRetriable, closed: () => !inc.joined });
      return true;
    } catch (err) {
      if (err instanceof StoppedError) return false; // the incarnation crashed meanwhile: its successor commits
      throw err;
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.life.to('stopping');
    clearTimeout(this.#restartTimer);
    this.#firstJoin?.resolve(); // start() settles; the caller sees the stop
    this.#firstJoin = undefined;
    const inc = this.#inc;
    if (inc && !inc.retired) {
      // A join in progress: let it finish (bounded), so the member leaves instead of being
      // dropped mid-join by kafkajs; then disconnect (LeaveGroup) and shut its sockets.
      if (inc.running) {
        await raceDeadline(inc.running, this.#o.stopTimeoutMs, () => new Error('join did not finish')).catch(() =>
          this.#log.warn({ group: this.#o.groupId }, `stop: a join in progress did not finish within ${this.#o.stopTimeoutMs} ms; closing its connections`));
      }
      await raceDeadline(inc.consumer.disconnect(), LEAVE_TIMEOUT_MS, () => new Error('disconnect timed out')).catch(() => undefined);
      this.#retire(inc);
    }
    // Whatever left or not: ask the coordinator and leave every member of this instance it lists.
    await this.#leaveStale(true);
    await this.#closeControl();
    this.life.to('stopped');
  }

  // ---- the control connection: describe the group, leave by member id -----------------------

  #controlCluster(): KafkajsCluster {
    if (!this.#control) {
      const gate = new SocketGate();
      const kafka = createKafka({ brokers: this.#d.brokers, clientId: `${this.#clientId}-control`, logger: this.#d.logger, gate });
      this.#control = { kafka, gate, cluster: clusterOf(kafka) };
    }
    const c = this.#control;
    c.connected ??= c.cluster.connect().catch((err: unknown) => {
      c.connected = undefined;
      throw err;
    });
    return c.cluster;
  }

  async #describe(): Promise<GroupDescription> {
    this.#controlCluster();
    await this.#control!.connected;
    const admin = this.#control!.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([this.#o.groupId]);
      const g = groups[0];
      return { groupId: this.#o.groupId, state: g?.state ?? 'Dead', members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost })) };
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Best effort, bounded: LeaveGroup for the stale member ids, and with `listed`, for every member
   * the coordinator lists under this instance's client id. A broker that is down cannot be asked;
   * those members expire with their session (they no longer heartbeat).
   */
  async #leaveStale(listed = false): Promise<void> {
    const run = async () => {
      const ids = new Set(this.#stale);
      if (listed) for (const m of (await this.#describe()).members) if (m.clientId === this.#clientId) ids.add(m.memberId);
      if (ids.size === 0) return;
      const cluster = this.#controlCluster();
      await this.#control!.connected;
      const coordinator = await cluster.findGroupCoordinator({ groupId: this.#o.groupId });
      for (const memberId of ids) {
        await coordinator.leaveGroup({ groupId: this.#o.groupId, memberId }).catch((err: { type?: string }) => {
          if (err?.type !== 'UNKNOWN_MEMBER_ID') throw err;
        });
        this.#stale.delete(memberId);
        this.#log.debug({ group: this.#o.groupId, memberId }, 'left group for a retired member');
      }
    };
    try {
      await raceDeadline(run(), LEAVE_TIMEOUT_MS, () => new Error('leave timed out'));
    } catch (err) {
      this.#log.debug({ err, group: this.#o.groupId }, 'could not leave the group for retired members; their sessions expire');
    }
  }

  async #closeControl(): Promise<void> {
    const c = this.#control;
    if (!c) return;
    await raceDeadline((async () => {
      await c.connected?.catch(() => undefined);
      await c.cluster.disconnect();
    })(), 2000, () => new Error('timeout')).catch(() => undefined);
    c.gate.close();
    await delay(0);
  }
}
