// The only module that imports kafkajs (with partition-reader.ts, which needs its cluster).
// Everything else in partita talks to Kafka through the small interfaces exported here, so a
// different client can be measured behind the same seam later.
import kafkajs from 'kafkajs';
import type { Logger } from '../logger.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
export type KafkajsKafka = InstanceType<typeof Kafka>;
export type KafkajsProducer = ReturnType<KafkajsKafka['producer']>;
export type KafkajsConsumer = ReturnType<KafkajsKafka['consumer']>;
export type KafkajsAdmin = ReturnType<KafkajsKafka['admin']>;
export { kafkajs };

export interface ClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

export type Headers = Record<string, Uint8Array>;

/** A record read from Kafka (consumer group or partition reader), as partita passes it on. */
export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Headers | undefined;
}

const utf8 = new TextEncoder();

/** kafkajs headers → Headers; the last of duplicate keys wins, as in Goka. */
export function fromKafkajsHeaders(h: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Headers | undefined {
  if (!h) return undefined;
  let out: Headers | undefined;
  for (const [k, v] of Object.entries(h)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last === undefined) continue;
    (out ??= {})[k] = typeof last === 'string' ? utf8.encode(last) : last;
  }
  return out;
}

/** A record to produce; partition is always chosen by partita (hasher or co-partitioning). */
export interface OutRecord {
  topic: string;
  partition: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: Headers | undefined;
  timestamp?: number | undefined;
}

/** First offset written per topic-partition by one produce call. */
export interface ProduceAck {
  topic: string;
  partition: number;
  baseOffset: bigint;
}

/**
 * Creates the kafkajs client with its logs routed into pino one level down: kafkajs logs
 * retriable conditions (coordinator loading, leader moves) as ERROR and lifecycle as INFO;
 * failures that matter reach partita as exceptions and are reported there.
 */
export function createKafka(opts: ClientOptions): KafkajsKafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.INFO,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR) log.warn(rest, message);
      else if (level === logLevel.WARN) log.info(rest, message);
      else log.debug(rest, message);
    },
  });
}

const toBuffer = (b: Uint8Array | null): Buffer | null =>
  b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * One kafkajs producer. `send` writes records in one request set and resolves with the base
 * offset of every topic-partition it wrote to, once the broker acked (acks=all).
 */
export class RecordProducer {
  readonly #producer: KafkajsProducer;
  #connected: Promise<void> | undefined;

  constructor(kafka: KafkajsKafka) {
    this.#producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  }

  connect(): Promise<void> {
    this.#connected ??= this.#producer.connect();
    return this.#connected;
  }

  async send(records: OutRecord[]): Promise<ProduceAck[]> {
    await this.connect();
    const byTopic = new Map<string, kafkajs.Message[]>();
    for (const r of records) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      const msg: kafkajs.Message = { partition: r.partition, key: toBuffer(r.key), value: toBuffer(r.value) };
      if (r.headers) {
        const h: kafkajs.IHeaders = {};
        for (const [k, v] of Object.entries(r.headers)) h[k] = toBuffer(v)!;
        msg.headers = h;
      }
      if (r.timestamp !== undefined) msg.timestamp = String(r.timestamp);
      list.push(msg);
    }
    const meta = await this.#producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    return meta.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: BigInt(m.baseOffset ?? '-1') }));
  }

  async disconnect(): Promise<void> {
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#producer.disconnect();
    }
  }
}
