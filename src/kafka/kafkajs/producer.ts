// ProducerPort on kafkajs's cluster object (connections, metadata, leaders), with produce
// requests partita encodes itself: acks=all, no compression, the partition always given. Each
// partition's records go as one record batch built in a single pass (record-batch.ts); kafkajs's
// own producer spent more of the main thread encoding them than the rest of partita together.
import type { BrokerHealth } from '../broker-health.js';
import type { EncodedBatches, OutRecord, ProduceAck, ProducerPort } from '../ports.js';
import { encodeRecordBatch } from '../record-batch.js';
import { clusterOf, isRetriable, lazyKafkajsModule, newEncoder, RetriableKafkaError, sendRequest, type KafkajsCluster, type KafkajsKafka } from './base.js';

// kafkajs's request framing and its Produce v3 response decoder (kafkajs is pinned to 2.2.4).
const produceV3Response = lazyKafkajsModule<ProtocolResponse>('kafkajs/src/protocol/requests/produce/v3/response');
const protocolErrors = lazyKafkajsModule<{ failure(code: number): boolean; createErrorFromCode(code: number): Error }>('kafkajs/src/protocol/error');

interface ProtocolResponse {
  decode(raw: Buffer): Promise<unknown>;
  parse(data: unknown): Promise<ProduceResponse>;
}
interface ProduceResponse {
  topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[];
}

/** What one request round did: the partitions acked, and those that failed (with the first error). */
interface SendResult {
  acks: ProduceAck[];
  failed: Map<string, Map<number, Uint8Array>>;
  error?: unknown;
}

interface PendingSend {
  batches: EncodedBatches;
  resolve(result: SendResult): void;
  reject(err: unknown): void;
}

const PRODUCE_API_KEY = 0;
/** Sends stop joining a request past this size (the broker takes up to 100 MiB per request). */
const MAX_MERGED_BYTES = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** A Produce v3 request of ready record batches, per topic and partition. */
function produceRequest(batches: EncodedBatches) {
  return {
    request: {
      apiKey: PRODUCE_API_KEY,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => true,
      encode: async () => {
        const e = newEncoder().writeString(null).writeInt16(-1).writeInt32(REQUEST_TIMEOUT_MS).writeInt32(batches.size);
        for (const [topic, parts] of batches) {
          e.writeString(topic).writeInt32(parts.size);
          for (const [partition, batch] of parts) {
            e.writeInt32(partition).writeInt32(batch.byteLength).writeBuffer(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength));
          }
        }
        return e;
      },
    },
    // Partition errors are read by the caller: kafkajs's parse throws on the first, as if the
    // whole request had failed, though the other partitions of it were written.
    response: { decode: (raw: Buffer) => produceV3Response().decode(raw), parse: async (data: unknown) => data },
    requestTimeout: REQUEST_TIMEOUT_MS + 5_000,
  };
}

export class KafkajsProducerPort implements ProducerPort {
  readonly #cluster: KafkajsCluster;
  readonly #health: BrokerHealth;
  readonly #topics = new Set<string>();
  readonly #pending: PendingSend[] = [];
  #flushing = false;
  #connected: Promise<void> | undefined;
  #closed = false;

  constructor(kafka: KafkajsKafka, health: BrokerHealth) {
    this.#health = health;
    this.#cluster = clusterOf(kafka);
  }

  async #connect(topics: Iterable<string>): Promise<void> {
    this.#connected ??= this.#cluster.connect().catch((err: unknown) => {
      this.#connected = undefined; // the next attempt connects again
      throw err;
    });
    await this.#connected;
    for (const t of topics) {
      if (this.#topics.has(t)) continue;
      await this.#cluster.addTargetTopic(t);
      this.#topics.add(t);
    }
  }

  /**
   * Sends until the broker acks, retrying through an outage within the client's bound. A retry
   * may write a record twice (at-least-once); it never reorders one partition's records, since
   * the caller sends them one request at a time.
   */
  send(records: OutRecord[]): Promise<ProduceAck[]> {
    // Records per topic and partition, in order; encoded once, whatever the retries.
    const grouped = new Map<string, Map<number, OutRecord[]>>();
    for (const r of records) {
      let byPartition = grouped.get(r.topic);
      if (!byPartition) grouped.set(r.topic, (byPartition = new Map()));
      let list = byPartition.get(r.partition);
      if (!list) byPartition.set(r.partition, (list = []));
      list.push(r);
    }
    const now = Date.now();
    const batches = new Map<string, Map<number, Uint8Array>>();
    for (const [topic, byPartition] of grouped) {
      const m = new Map<number, Uint8Array>();
      for (const [p, list] of byPartition) m.set(p, encodeRecordBatch(list, now));
      batches.set(topic, m);
    }
    return this.sendBatches(batches);
  }

  sendBatches(batches: EncodedBatches): Promise<ProduceAck[]> {
    // A retry sends only what has not been acked: a partition that failed in a request with
    // others must not have them written twice.
    const acks: ProduceAck[] = [];
    let todo = batches;
    return this.#health.call('produce', async () => {
      await this.#connect(todo.keys());
      const r = await this.#submit(todo);
      acks.push(...r.acks);
      if (r.failed.size === 0) return acks;
      todo = r.failed;
      throw r.error;
    }, { retriable: isRetriable, closed: () => this.#closed });
  }

  /**
   * Coalesces sends: while a produce request is in flight, later sends wait and then go out
   * together, one request per leader. Under load that is a few large requests instead of one
   * per actor batch (each request costs the main thread a socket write and a response to
   * decode); an idle producer sends at once. Sends go out in the order they came, and two
   * sends to the same partition never share a request, so each partition's order holds.
   */
  #submit(batches: EncodedBatches): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ batches, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const taken: PendingSend[] = [];
        const merged = new Map<string, Map<number, Uint8Array>>();
        let bytes = 0;
        while (this.#pending.length > 0 && bytes < MAX_MERGED_BYTES) {
          const next = this.#pending[0]!;
          if ([...next.batches].some(([t, parts]) => [...parts.keys()].some((p) => merged.get(t)?.has(p)))) break;
          taken.push(this.#pending.shift()!);
          for (const [t, parts] of next.batches) {
            let m = merged.get(t);
            if (!m) merged.set(t, (m = new Map()));
            for (const [p, b] of parts) {
              m.set(p, b);
              bytes += b.byteLength;
            }
          }
        }
        try {
          const r = await this.#sendToLeaders(merged);
          for (const send of taken) {
            const failed = new Map<string, Map<number, Uint8Array>>();
            for (const [t, parts] of send.batches) {
              for (const [p, b] of parts) {
                if (!r.failed.get(t)?.has(p)) continue;
                let m = failed.get(t);
                if (!m) failed.set(t, (m = new Map()));
                m.set(p, b);
              }
            }
            send.resolve({ acks: r.acks.filter((a) => send.batches.get(a.topic)?.has(a.partition)), failed, error: r.error });
          }
        } catch (err) {
          for (const send of taken) send.reject(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Throws only when nothing was sent (no leader known); per request and per partition failures are in the result. */
  async #sendToLeaders(batches: EncodedBatches): Promise<SendResult> {
    // One request per leader broker, all in flight at once.
    const perBroker = new Map<string, Map<string, Map<number, Uint8Array>>>();
    for (const [topic, parts] of batches) {
      const leaders = this.#cluster.findLeaderForPartitions(topic, [...parts.keys()]);
      let placed = 0;
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        let req = perBroker.get(nodeId);
        if (!req) perBroker.set(nodeId, (req = new Map()));
        const m = new Map<number, Uint8Array>();
        for (const p of partitions) m.set(p, parts.get(p)!);
        req.set(topic, m);
        placed += partitions.length;
      }
      if (placed < parts.size) {
        await this.#cluster.refreshMetadata().catch(() => undefined);
        throw new RetriableKafkaError(`no leader known for some partitions of ${topic}`);
      }
    }
    const result: SendResult = { acks: [], failed: new Map() };
    const fail = (topic: string, partition: number, err: unknown) => {
      // A partition that cannot succeed (a record too large) fails the send now, not after retries.
      if (result.error === undefined || (isRetriable(result.error) && !isRetriable(err))) result.error = err;
      let m = result.failed.get(topic);
      if (!m) result.failed.set(topic, (m = new Map()));
      m.set(partition, batches.get(topic)!.get(partition)!);
    };
    await Promise.all([...perBroker].map(async ([nodeId, req]) => {
      let res: ProduceResponse;
      try {
        const broker = await this.#cluster.findBroker({ nodeId });
        res = await sendRequest<ProduceResponse>(broker, produceRequest(req));
      } catch (err) {
        // The request as a whole (a closed connection, a timeout): whether it was written is unknown.
        for (const [t, parts] of req) for (const p of parts.keys()) fail(t, p, err);
        return;
      }
      const { failure, createErrorFromCode } = protocolErrors();
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (failure(p.errorCode)) fail(t.topicName, p.partition, createErrorFromCode(p.errorCode));
          else result.acks.push({ topic: t.topicName, partition: p.partition, baseOffset: Number(p.baseOffset) });
        }
      }
    }));
    // A moved leader or a restarting broker: fresh metadata before the health's retry.
    if (result.error !== undefined && isRetriable(result.error)) await this.#cluster.refreshMetadata().catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#cluster.disconnect().catch(() => undefined);
    }
  }
}
