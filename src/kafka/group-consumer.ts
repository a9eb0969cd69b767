// The consumer group of a processor: kafkajs with a co-partitioning assignor, manual commits
// and batch delivery. Exposes assignment changes and batches as plain data.
import { fromKafkajsHeaders, kafkajs, type KafkajsConsumer, type KafkajsKafka, type KafkaRecord } from './client.js';
import { NotCopartitionedError } from '../errors.js';
import type { Logger } from '../logger.js';

const { AssignerProtocol } = kafkajs;
export const COPARTITION_PROTOCOL = 'partita-copartition';

export type InRecord = KafkaRecord;

export interface GroupConsumerHandlers {
  /** The partitions this member owns now (the same set for every subscribed topic). */
  onAssignment(partitions: number[]): void;
  onBatch(topic: string, partition: number, records: InRecord[], highWatermark: number): void;
  onCrash(err: Error): void;
}

/**
 * Splits partitions into contiguous ranges, one per member sorted by id, the same range for
 * every topic, so partition p of every input, the loop and the table meet in one instance.
 * Members, topics and partitions are sorted, so every member computes the same plan (Goka's
 * copartitioning strategy).
 */
export function copartitionPlan(memberIds: string[], partitions: number): Map<string, number[]> {
  const members = [...memberIds].sort();
  const plan = new Map<string, number[]>();
  const step = partitions / members.length;
  members.forEach((m, i) => {
    const from = Math.floor(i * step + 0.5);
    const to = Math.floor((i + 1) * step + 0.5);
    const list: number[] = [];
    for (let p = from; p < to; p++) list.push(p);
    plan.set(m, list);
  });
  return plan;
}

function copartitionAssigner(): kafkajs.PartitionAssigner {
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

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  logger: Logger;
  sessionTimeoutMs?: number;
}

export class GroupConsumer {
  readonly #consumer: KafkajsConsumer;
  readonly #topics: string[];
  readonly #log: Logger;
  #running = false;
  #stopping = false;
  #joined = false;

  constructor(kafka: KafkajsKafka, opts: GroupConsumerOptions) {
    this.#topics = opts.topics;
    this.#log = opts.logger;
    this.#consumer = kafka.consumer({
      groupId: opts.groupId,
      partitionAssigners: [copartitionAssigner()],
      allowAutoTopicCreation: false,
      sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
      // kafkajs restarts a crashed consumer from a timer; one armed while we stop would
      // reconnect after disconnect() and leak its connections.
      retry: { retries: 5, restartOnFailure: async () => !this.#stopping },
    });
  }

  async start(h: GroupConsumerHandlers): Promise<void> {
    const c = this.#consumer;
    c.on(c.events.GROUP_JOIN, (e) => {
      this.#joined = true;
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      const set = new Set<number>();
      for (const parts of Object.values(assignment)) for (const p of parts) set.add(p);
      this.#log.debug({ assignment }, 'joined group');
      h.onAssignment([...set].sort((a, b) => a - b));
    });
    c.on(c.events.CRASH, (e) => {
      this.#joined = false;
      if (!e.payload.restart) h.onCrash(e.payload.error);
    });
    await c.connect();
    await c.subscribe({ topics: this.#topics, fromBeginning: true });
    this.#running = true;
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch }) => {
        const records: InRecord[] = batch.messages.map((m) => ({
          offset: Number(m.offset),
          timestamp: Number(m.timestamp),
          key: m.key,
          value: m.value,
          headers: fromKafkajsHeaders(m.headers),
        }));
        h.onBatch(batch.topic, batch.partition, records, Number(batch.highWatermark));
      },
    });
  }

  pause(partition: number): void {
    if (this.#running) this.#consumer.pause(this.#topics.map((topic) => ({ topic, partitions: [partition] })));
  }

  resume(partition: number): void {
    if (this.#running) this.#consumer.resume(this.#topics.map((topic) => ({ topic, partitions: [partition] })));
  }

  async commit(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (offsets.length === 0) return;
    // kafkajs's commitOffsets silently does nothing while its runner restarts after a crash:
    // report that, so the caller keeps the offsets pending and retries.
    if (!this.#joined) throw new Error('the consumer is rejoining its group; commit deferred');
    await this.#consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    await this.#consumer.disconnect();
  }
}
