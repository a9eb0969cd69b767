// ProducerPort on one kafkajs producer: acks=all, no compression, the partition always given.
import type { BrokerHealth } from '../broker-health.js';
import type { OutRecord, ProduceAck, ProducerPort } from '../ports.js';
import { isRetriable, kafkajs, toBuffer, type KafkajsKafka } from './base.js';

type KafkajsProducer = ReturnType<KafkajsKafka['producer']>;

export class KafkajsProducerPort implements ProducerPort {
  readonly #producer: KafkajsProducer;
  readonly #health: BrokerHealth;
  #connected: Promise<void> | undefined;
  #closed = false;

  constructor(kafka: KafkajsKafka, health: BrokerHealth) {
    this.#health = health;
    this.#producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  }

  #connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((err: unknown) => {
      this.#connected = undefined; // the next attempt connects again
      throw err;
    });
    return this.#connected;
  }

  /**
   * Sends until the broker acks, retrying through an outage within the client's bound. A retry
   * may write a record twice (at-least-once); it never reorders one partition's records, since
   * the caller sends them one request at a time.
   */
  send(records: OutRecord[]): Promise<ProduceAck[]> {
    const topicMessages = toTopicMessages(records);
    return this.#health.call('produce', async () => {
      await this.#connect();
      const meta = await this.#producer.sendBatch({ acks: -1, compression: kafkajs.CompressionTypes.None, topicMessages });
      return meta.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: Number(m.baseOffset ?? '-1') }));
    }, { retriable: isRetriable, closed: () => this.#closed });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#producer.disconnect().catch(() => undefined);
    }
  }
}

function toTopicMessages(records: OutRecord[]): kafkajs.TopicMessages[] {
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
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
