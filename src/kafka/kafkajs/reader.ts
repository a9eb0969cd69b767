// ReaderPort: reads topic partitions by offset without a consumer group (changelog recovery,
// catch-up, views), through kafkajs's cluster object, retrying through outages.
import { TopicError } from '../../errors.js';
import type { BrokerHealth } from '../broker-health.js';
import type { KafkaRecord, ReaderPort, ReadOptions, Watermarks } from '../ports.js';
import { clusterOf, fromKafkajsHeaders, isRetriable, RetriableKafkaError, type KafkajsCluster, type KafkajsKafka, type KafkajsMessage } from './base.js';

/** Fetch error codes that a metadata refresh and another try can fix (leader moved, broker restarting). */
const RETRIABLE_FETCH_CODES = new Set([3, 5, 6, 7, 13, 56, 74, 75]);
const CATCH_UP_WAIT_MS = 200;
const FOLLOW_WAIT_MS = 500;

export class KafkajsReaderPort implements ReaderPort {
  readonly #cluster: KafkajsCluster;
  readonly #health: BrokerHealth;
  #connected: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(kafka: KafkajsKafka, health: BrokerHealth) {
    this.#cluster = clusterOf(kafka);
    this.#health = health;
  }

  #call<T>(operation: string, op: () => Promise<T>): Promise<T> {
    return this.#health.call(operation, op, { retriable: isRetriable, closed: () => this.#closed });
  }

  async #connect(topic: string): Promise<void> {
    await this.#call(`connect (${topic})`, async () => {
      this.#connected ??= this.#cluster.connect().catch((err: unknown) => {
        this.#connected = undefined;
        throw err;
      });
      await this.#connected;
      await this.#cluster.addTargetTopic(topic);
    });
  }

  async watermarks(topic: string, partition: number): Promise<Watermarks> {
    await this.#connect(topic);
    const get = async (fromBeginning: boolean) => {
      const res = await this.#cluster.fetchTopicsOffset([{ topic, partitions: [{ partition }], fromBeginning }]);
      const p = res[0]?.partitions.find((x) => x.partition === partition);
      if (!p) throw new TopicError(topic, `no offsets for ${topic}[${partition}]`);
      return Number(p.offset);
    };
    return this.#call(`watermarks ${topic}[${partition}]`, async () => {
      const [low, high] = await Promise.all([get(true), get(false)]);
      return { low, high };
    });
  }

  /**
   * Records of one partition from `from` until `to` (exclusive), or following the partition
   * until `signal` aborts when `to` is omitted. Compaction may leave gaps; control records are
   * skipped.
   */
  async *read(topic: string, partition: number, { from, to, signal }: ReadOptions): AsyncGenerator<KafkaRecord[]> {
    const follow = to === undefined;
    const end = to ?? Number.POSITIVE_INFINITY;
    await this.#connect(topic);
    let next = from;
    let idle = 0;
    while (next < end && !signal?.aborted && !this.#closed) {
      const part = await this.#call(`fetch ${topic}[${partition}]@${next}`, () => this.#fetch(topic, partition, next, follow ? FOLLOW_WAIT_MS : CATCH_UP_WAIT_MS));
      const out: KafkaRecord[] = [];
      let last = next - 1;
      for (const m of part.messages) {
        const offset = Number(m.offset);
        if (offset > last) last = offset;
        if (offset < next || offset >= end || m.isControlRecord) continue;
        out.push({ offset, timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: fromKafkajsHeaders(m.headers) });
      }
      // A batch of only control records or compacted-away offsets still moves us forward.
      if (last >= next) {
        next = last + 1;
        idle = 0;
      } else if (Number(part.highWatermark) <= next) {
        if (!follow) break;
      } else if (++idle > 50) {
        throw new TopicError(topic, `fetching ${topic}[${partition}] makes no progress at offset ${next} (high-water mark ${part.highWatermark})`);
      }
      if (out.length > 0) yield out;
    }
  }

  async #fetch(topic: string, partition: number, offset: number, maxWaitTime: number, maxBytes = 4 * 1024 * 1024) {
    const nodeId = Object.keys(this.#cluster.findLeaderForPartitions(topic, [partition]))[0];
    if (nodeId === undefined) {
      await this.#cluster.refreshMetadata();
      throw new RetriableKafkaError(`no leader for ${topic}[${partition}]`);
    }
    const res = await this.#serially(async () => {
      const broker = await this.#cluster.findBroker({ nodeId });
      return broker.fetch({
        maxWaitTime,
        minBytes: 1,
        maxBytes,
        isolationLevel: 1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
      });
    });
    const part = res.responses[0]?.partitions[0];
    if (!part) throw new TopicError(topic, `fetching ${topic}[${partition}]@${offset}: the broker returned no data for the partition`);
    if (part.errorCode !== 0) {
      if (RETRIABLE_FETCH_CODES.has(part.errorCode)) {
        await this.#cluster.refreshMetadata().catch(() => undefined);
        throw new RetriableKafkaError(`fetching ${topic}[${partition}]@${offset}: Kafka error ${part.errorCode}`);
      }
      throw new TopicError(topic, `fetching ${topic}[${partition}]@${offset} failed with Kafka error ${part.errorCode}`);
    }
    return part as { highWatermark: string; messages: KafkajsMessage[] };
  }

  /**
   * One fetch at a time: kafkajs opens a broker's fetch connection lazily and without a lock, so
   * concurrent first fetches each open a socket and all but one are never closed.
   */
  #serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.then(() => undefined, () => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#cluster.disconnect().catch(() => undefined);
    }
  }
}
