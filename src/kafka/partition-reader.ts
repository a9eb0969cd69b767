// Reads topic partitions by offset without a consumer group (changelog recovery, views).
// kafkajs has no public "assign" API, so this uses its cluster object; kafkajs is pinned to
// 2.2.4 in package.json for that reason, and this file is the only place that depends on it.
import { fromKafkajsHeaders, type KafkajsKafka, type KafkaRecord } from './client.js';
import { TopicError } from '../errors.js';

export interface Watermarks {
  /** First offset still in the log. */
  low: number;
  /** Offset the next record will get (high-water mark). */
  high: number;
}

interface KafkajsMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord?: boolean;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(opts: { nodeId: string }): Promise<{
    fetch(req: unknown): Promise<{ responses: { topicName: string; partitions: { partition: number; errorCode: number; highWatermark: string; messages: KafkajsMessage[] }[] }[] }>;
  }>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

function clusterOf(kafka: KafkajsKafka): KafkajsCluster {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!sym) throw new Error('partita: this kafkajs version has no cluster factory (kafkajs 2.2.x expected)');
  const create = (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[sym]!;
  return create({ allowAutoTopicCreation: false, maxInFlightRequests: null });
}

export class PartitionReader {
  readonly #cluster: KafkajsCluster;
  #connected: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(kafka: KafkajsKafka) {
    this.#cluster = clusterOf(kafka);
  }

  async #connect(topic: string): Promise<void> {
    this.#connected ??= this.#cluster.connect();
    await this.#connected;
    await this.#cluster.addTargetTopic(topic);
  }

  async watermarks(topic: string, partition: number): Promise<Watermarks> {
    await this.#connect(topic);
    const get = async (fromBeginning: boolean) => {
      const res = await this.#cluster.fetchTopicsOffset([{ topic, partitions: [{ partition }], fromBeginning }]);
      const p = res[0]?.partitions.find((x) => x.partition === partition);
      if (!p) throw new TopicError(topic, `no offsets for ${topic}[${partition}]`);
      return Number(p.offset);
    };
    const [low, high] = await Promise.all([get(true), get(false)]);
    return { low, high };
  }

  /**
   * Fetches records of one partition from `from` (inclusive) until `to` (exclusive), in
   * chunks. Compaction may leave gaps; control records are skipped.
   */
  async *read(topic: string, partition: number, from: number, to: number, maxBytes = 4 * 1024 * 1024): AsyncGenerator<KafkaRecord[]> {
    await this.#connect(topic);
    let next = from;
    let idle = 0;
    while (next < to) {
      const leaders = this.#cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) {
        await this.#cluster.refreshMetadata();
        throw new TopicError(topic, `no leader for ${topic}[${partition}]`);
      }
      const res = await this.#serially(async () => {
        const broker = await this.#cluster.findBroker({ nodeId });
        return broker.fetch({
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes,
          isolationLevel: 1,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(next), maxBytes }] }],
        });
      });
      const part = res.responses[0]?.partitions[0];
      if (!part) throw new TopicError(topic, `fetching ${topic}[${partition}]@${next}: the broker returned no data for the partition`);
      if (part.errorCode !== 0) throw new TopicError(topic, `fetching ${topic}[${partition}]@${next} failed with Kafka error ${part.errorCode}`);
      const out: KafkaRecord[] = [];
      let last = next - 1;
      for (const m of part.messages) {
        const offset = Number(m.offset);
        if (offset > last) last = offset;
        if (offset < next || offset >= to || m.isControlRecord) continue;
        out.push({ offset, timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: fromKafkajsHeaders(m.headers) });
      }
      // A batch of only control records or compacted-away offsets still moves us forward.
      if (last >= next) {
        next = last + 1;
        idle = 0;
      } else if (Number(part.highWatermark) <= next) {
        break;
      } else if (++idle > 50) {
        throw new TopicError(topic, `fetching ${topic}[${partition}] makes no progress at offset ${next} (high-water mark ${part.highWatermark})`);
      }
      if (out.length > 0) yield out;
    }
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
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#cluster.disconnect();
    }
  }
}
