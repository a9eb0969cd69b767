// ReaderPort: reads topic partitions by offset without a consumer group (changelog recovery,
// catch-up, views), through kafkajs's cluster object, retrying through outages. Fetch requests
// are partita's own (v4): the response's record batches are passed on as bytes, to be decoded
// where they are applied; kafkajs's decoder only reads what partita's cannot (compression).
import { TopicError } from '../../errors.js';
import type { BrokerHealth } from '../broker-health.js';
import type { KafkaRecord, ReaderPort, ReadOptions, RecordChunk, Watermarks } from '../ports.js';
import { summarizeBatches } from '../record-batch.js';
import { fetchV4Request, kafkajsFetchV4, readFetchV4 } from './fetch-v4.js';
import { clusterOf, fromKafkajsHeaders, isRetriable, RetriableKafkaError, sendRequest, type KafkajsCluster, type KafkajsKafka, type KafkajsMessage } from './base.js';

interface KafkajsFetchResponse {
  responses: { partitions: { messages: KafkajsMessage[] }[] }[];
}

/** One partition of a fetch response. */
interface Fetched {
  errorCode: number;
  highWatermark: number;
  /** The record batches (the last may be cut short). */
  records: Uint8Array;
  /** The whole response, for kafkajs's decoder when the batches need it. */
  raw: Buffer;
}

/** Fetch error codes that a metadata refresh and another try can fix (leader moved, broker restarting). */
const RETRIABLE_FETCH_CODES = new Set([3, 5, 6, 7, 13, 56, 74, 75]);
const CATCH_UP_WAIT_MS = 200;
const FOLLOW_WAIT_MS = 500;
const READ_COMMITTED = 1;
const MAX_BYTES = 4 * 1024 * 1024;

/** A Fetch v4 request for one partition (read committed), answered as `Fetched`. */
function fetchRequest(topic: string, partition: number, offset: number, maxWaitTime: number) {
  const options = { maxWaitTime, minBytes: 1, maxBytes: MAX_BYTES, isolationLevel: READ_COMMITTED, partitions: [{ topic, partition, fetchOffset: offset, maxBytes: MAX_BYTES }] };
  return fetchV4Request(options, (raw): Fetched => {
    const p = readFetchV4(raw)[0];
    if (!p) throw new RetriableKafkaError(`fetching ${topic}[${partition}]@${offset}: the broker returned no data for the partition`);
    return { errorCode: p.errorCode, highWatermark: Number(p.highWatermark), records: p.records, raw };
  });
}

export class KafkajsReaderPort implements ReaderPort {
  readonly #cluster: KafkajsCluster;
  readonly #health: BrokerHealth;
  #connected: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  /** Brokers a fetch reached (their connection is open). */
  readonly #connectedTo = new Set<string>();
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
  async *read(topic: string, partition: number, { from, to, signal }: ReadOptions): AsyncGenerator<RecordChunk> {
    const follow = to === undefined;
    const end = to ?? Number.POSITIVE_INFINITY;
    await this.#connect(topic);
    let next = from;
    let idle = 0;
    while (next < end && !signal?.aborted && !this.#closed) {
      const part = await this.#call(`fetch ${topic}[${partition}]@${next}`, () => this.#fetch(topic, partition, next, follow ? FOLLOW_WAIT_MS : CATCH_UP_WAIT_MS));
      const sum = summarizeBatches(part.records, next, end);
      let chunk: RecordChunk | undefined;
      let last: number;
      if (sum.plain) {
        last = sum.end - 1;
        if (sum.count > 0) chunk = { count: sum.count, last: sum.last, batches: { bytes: part.records, from: next, to: end } };
      } else {
        ({ chunk, last } = await this.#decodeWithKafkajs(part.raw, next, end));
      }
      // A batch of only control records or compacted-away offsets still moves us forward.
      if (last >= next) {
        next = last + 1;
        idle = 0;
      } else if (part.highWatermark <= next) {
        if (!follow) break;
      } else if (++idle > 50) {
        throw new TopicError(topic, `fetching ${topic}[${partition}] makes no progress at offset ${next} (high-water mark ${part.highWatermark})`);
      }
      if (chunk) yield chunk;
    }
  }

  /** Compressed (or pre-2) batches: kafkajs's decoder, with the codecs registered with kafkajs. */
  async #decodeWithKafkajs(raw: Buffer, next: number, end: number): Promise<{ chunk: RecordChunk | undefined; last: number }> {
    const res = await kafkajsFetchV4<KafkajsFetchResponse>().decode(raw);
    const records: KafkaRecord[] = [];
    let last = next - 1;
    for (const m of res.responses[0]?.partitions[0]?.messages ?? []) {
      const offset = Number(m.offset);
      if (offset > last) last = offset;
      if (offset < next || offset >= end || m.isControlRecord) continue;
      records.push({ offset, timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: fromKafkajsHeaders(m.headers) });
    }
    const chunk = records.length > 0 ? { count: records.length, last: records[records.length - 1]!.offset, records } : undefined;
    return { chunk, last };
  }

  async #fetch(topic: string, partition: number, offset: number, maxWaitTime: number): Promise<Fetched> {
    const nodeId = Object.keys(this.#cluster.findLeaderForPartitions(topic, [partition]))[0];
    if (nodeId === undefined) {
      await this.#cluster.refreshMetadata();
      throw new RetriableKafkaError(`no leader for ${topic}[${partition}]`);
    }
    const fetch = async () => {
      const broker = await this.#cluster.findBroker({ nodeId });
      return sendRequest<Fetched>(broker, fetchRequest(topic, partition, offset, maxWaitTime));
    };
    let part: Fetched;
    try {
      // Once a fetch to this broker has succeeded its connection is open: fetches of several
      // partitions then overlap (the broker answers one connection's requests in order, but
      // the next is queued while this thread and the actors apply the last).
      part = this.#connectedTo.has(nodeId) ? await fetch() : await this.#serially(fetch);
      this.#connectedTo.add(nodeId);
    } catch (err) {
      this.#connectedTo.delete(nodeId);
      throw err;
    }
    if (part.errorCode !== 0) {
      if (RETRIABLE_FETCH_CODES.has(part.errorCode)) {
        await this.#cluster.refreshMetadata().catch(() => undefined);
        throw new RetriableKafkaError(`fetching ${topic}[${partition}]@${offset}: Kafka error ${part.errorCode}`);
      }
      throw new TopicError(topic, `fetching ${topic}[${partition}]@${offset} failed with Kafka error ${part.errorCode}`);
    }
    return part;
  }

  /**
   * One fetch at a time until connected: kafkajs opens a broker's fetch connection lazily and without a lock, so
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
