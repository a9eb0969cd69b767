import { clientFactory } from './kafka/default-client.js';
import type { KafkaClientFactory, OutRecord, ProducerPort } from './kafka/ports.js';
import { TopicManager } from './kafka/topic-manager.js';
import { encodeWith, keyBytes, type Codec } from './codec/codec.js';
import { hashers, type Hasher } from './hashers.js';
import { mergeHeaders, type HeadersInit } from './headers.js';
import { BrokerUnavailableError, EmitterClosedError, InvalidArgumentError, ProduceError, TopicError } from './errors.js';
import { checkBrokers } from './kafka/brokers.js';
import { defaultLogger, type Logger } from './logger.js';

export interface EmitterOptions<T> {
  brokers: string[];
  topic: string;
  codec: Codec<T>;
  hasher?: Hasher;
  defaultHeaders?: HeadersInit;
  logger?: Logger;
  clientId?: string;
  /** Create the topic (delete policy) with this many partitions if it does not exist. */
  ensureTopic?: { partitions: number };
  /** Most records per produce request (default 5000). */
  maxBatch?: number;
  /** How long the broker may be unreachable before pending emits reject (default 60 s). */
  brokerOutageMs?: number;
  /** How long the first connection may take before emits reject (default 10 s). */
  connectTimeoutMs?: number;
  /** The Kafka client behind partita's ports (default kafkajs; partita/tester passes an in-memory one). */
  kafkaClient?: KafkaClientFactory;
}

export interface EmitOptions {
  headers?: HeadersInit;
  timestamp?: number;
}

interface Pending {
  record: OutRecord;
  resolve: () => void;
  reject: (err: Error) => void;
}

type EmitterState = 'open' | 'closing' | 'closed';

/**
 * Writes key/value messages into one stream. Emits made in the same event-loop turn (and
 * while a request is in flight) travel in one produce request; each promise resolves when
 * the broker acked its record. Requests go out one at a time, so per-partition order holds.
 */
export class Emitter<T> {
  readonly topic: string;
  readonly #codec: Codec<T>;
  readonly #hasher: Hasher;
  readonly #defaultHeaders: HeadersInit | undefined;
  /** The producer and the topic manager, once the client factory is loaded. */
  readonly #ports: Promise<{ producer: ProducerPort; topics: TopicManager }>;
  readonly #maxBatch: number;
  readonly #ensure: { partitions: number } | undefined;
  #partitions: Promise<number> | undefined;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #state: EmitterState = 'open';
  readonly #inflight = new Set<Promise<void>>();

  constructor(opts: EmitterOptions<T>) {
    if (!opts) throw new InvalidArgumentError('Emitter: options are required');
    checkBrokers('Emitter', opts.brokers, opts.kafkaClient !== undefined);
    if (!opts.topic) throw new InvalidArgumentError('Emitter: topic is required');
    if (!opts.codec) throw new InvalidArgumentError(`Emitter(${opts.topic}): codec is required`);
    this.topic = opts.topic;
    this.#codec = opts.codec;
    this.#hasher = opts.hasher ?? hashers.murmur2;
    this.#defaultHeaders = opts.defaultHeaders;
    this.#maxBatch = opts.maxBatch ?? 5000;
    this.#ensure = opts.ensureTopic;
    const logger = (opts.logger ?? defaultLogger('partita')).child({ emitter: opts.topic });
    this.#ports = clientFactory(opts.kafkaClient).then((factory) => {
      const client = factory({
        brokers: opts.brokers,
        clientId: opts.clientId ?? `partita-emitter-${opts.topic}`,
        logger,
        brokerOutageMs: opts.brokerOutageMs ?? 60_000,
        connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      });
      return { producer: client.producer(), topics: new TopicManager(client.admin(), logger) };
    });
    this.#ports.catch(() => undefined); // reported by the emits and close() that wait for it
  }

  /** Emits one message; resolves when the broker acked it. A null value is sent as a tombstone. */
  emit(key: string, value: T | null, options: EmitOptions = {}): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new EmitterClosedError(this.topic));
    const p = this.#emit(key, value, options);
    this.#inflight.add(p);
    const forget = () => this.#inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  async #emit(key: string, value: T | null, options: EmitOptions): Promise<void> {
    if (typeof key !== 'string') throw new InvalidArgumentError(`Emitter(${this.topic}): key must be a string`);
    const encoded = value === null ? null : encodeWith(this.#codec, value);
    const kb = keyBytes(key);
    const n = await this.#partitionCount().catch((err: unknown) => {
      throw err instanceof BrokerUnavailableError ? this.#produceError(err) : err;
    });
    const partition = this.#hasher(kb, n);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        record: {
          topic: this.topic,
          partition,
          key: kb,
          value: encoded,
          headers: mergeHeaders(this.#defaultHeaders, options.headers),
          timestamp: options.timestamp,
        },
        resolve,
        reject,
      });
      this.#schedule();
    });
  }

  /** Waits for every pending emit, then releases the connection. Later emits reject. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    // Every emit accepted before close() settles (acked or rejected) before we disconnect.
    await Promise.allSettled([...this.#inflight]);
    this.#state = 'closed';
    const ports = await this.#ports.catch(() => undefined);
    if (ports) await Promise.allSettled([ports.producer.close(), ports.topics.close()]);
  }

  /** The topic's partition count; with `ensureTopic`, the topic is created first if missing. */
  partitions(): Promise<number> {
    return this.#partitionCount();
  }

  #partitionCount(): Promise<number> {
    this.#partitions ??= (async () => {
      const { topics } = await this.#ports;
      if (this.#ensure) await topics.ensureStream(this.topic, this.#ensure.partitions);
      const n = await topics.partitions(this.topic);
      if (n === undefined) throw new TopicError(this.topic, `Emitter: topic '${this.topic}' not found`);
      return n;
    })();
    // Do not cache failures: the topic may be created later.
    this.#partitions.catch(() => (this.#partitions = undefined));
    return this.#partitions;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    try {
      await (await this.#ports).producer.send(batch.map((p) => p.record));
      for (const p of batch) p.resolve();
    } catch (err) {
      const e = this.#produceError(err);
      for (const p of batch) p.reject(e);
    }
  }

  #produceError(err: unknown): ProduceError {
    return new ProduceError(this.topic, `Emitter: producing to '${this.topic}' failed: ${(err as Error).message}`, { cause: err });
  }
}
