// What every kafkajs-backed port shares: the client with its logs routed into pino, sockets
// that can be shut for good, error classification for retries, and header conversion.
import net from 'node:net';
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { Headers } from '../../headers.js';
import type { Logger } from '../../logger.js';
import { StoppedError } from '../../errors.js';

const require = createRequire(import.meta.url);

/**
 * kafkajs (and its protocol modules), loaded on first use: a worker thread imports partita for
 * defineGroup and codecs, and never talks to Kafka; loading kafkajs there cost ~100 ms per
 * thread at start-up.
 */
export function kafkajsModule<T = typeof import('kafkajs')>(path = 'kafkajs'): T {
  return require(path) as T;
}

/**
 * A kafkajs module for the request path, resolved on first use and then held: `require` of a
 * package subpath resolves the specifier on every call (path and package.json lookups), which
 * cost 3-5 % of the main thread at 10,000 msg/s, where every request is small.
 */
export function lazyKafkajsModule<T>(path: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= kafkajsModule<T>(path));
}

export type KafkajsKafka = Kafka;

/** kafkajs's protocol encoder (the framing of the requests partita builds itself). */
export interface KafkajsEncoder {
  writeString(s: string | null): KafkajsEncoder;
  writeInt8(n: number): KafkajsEncoder;
  writeInt16(n: number): KafkajsEncoder;
  writeInt32(n: number): KafkajsEncoder;
  writeInt64(n: string): KafkajsEncoder;
  writeBuffer(b: Buffer): KafkajsEncoder;
}

const encoderClass = lazyKafkajsModule<new () => KafkajsEncoder>('kafkajs/src/protocol/encoder');
export const newEncoder = (): KafkajsEncoder => new (encoderClass())();

/**
 * The sockets of one kafkajs client. kafkajs reconnects on demand, from timers partita does not
 * own (a restarting runner, a retried join): once `close()`d, every existing socket is destroyed
 * and every new one fails at once, so nothing of that client can reach a broker again.
 */
export class SocketGate {
  #closed = false;
  readonly #open = new Set<net.Socket>();

  readonly factory = ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): net.Socket => {
    if (this.#closed) {
      const dead = new net.Socket();
      setImmediate(() => dead.destroy(new StoppedError(`connection to ${host}:${port} refused: the client is closed`)));
      return dead;
    }
    const socket = net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    // kafkajs unrefs a socket on every disconnect, also one that never connected: Node then
    // queues a 'connect' listener per call (MaxListenersExceededWarning during an outage).
    const unref = socket.unref.bind(socket);
    socket.unref = () => (socket.destroyed ? socket : unref());
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  };

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#open) s.destroy();
    this.#open.clear();
  }
}

export interface KafkajsSettings {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  gate: SocketGate;
}

/**
 * A kafkajs client with short internal retries: partita's BrokerHealth owns the retry budget,
 * so one kafkajs call gives up within a few seconds and is retried (or reported) by partita.
 * kafkajs's own log goes to pino at debug: its lines are per request and repeat in bursts
 * (a rebalance logs ~17 of them); partita logs one line per episode itself.
 */
export function createKafka(s: KafkajsSettings): KafkajsKafka {
  const log = s.logger.child({ component: 'kafkajs' });
  const { Kafka, logLevel } = kafkajsModule();
  const kafka = new Kafka({
    clientId: s.clientId,
    brokers: [...s.brokers],
    logLevel: log.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    socketFactory: s.gate.factory,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      log.debug({ ...rest, kafkajsLevel: logLevel[level] }, message);
    },
  });
  quietRequestQueues(kafka);
  return kafka;
}

/** The private factory every cluster of a kafkajs client comes from (its consumer's, producer's, admin's). */
function clusterFactory<C>(kafka: KafkajsKafka): { slot: Record<symbol, (o: object) => C>; sym: symbol } {
  const sym = Object.getOwnPropertySymbols(kafka).find((x) => x.description === 'private:Kafka:createCluster');
  if (!sym) throw new Error('partita: this kafkajs version has no cluster factory (kafkajs 2.2.x expected)');
  return { slot: kafka as unknown as Record<symbol, (o: object) => C>, sym };
}

/** Runs `patch` on every cluster `kafka` creates from now on; C is the part of it the patch uses. */
export function onEachCluster<C>(kafka: KafkajsKafka, patch: (cluster: C) => void): void {
  const { slot, sym } = clusterFactory<C>(kafka);
  const create = slot[sym]!;
  slot[sym] = (options) => {
    const cluster = create(options);
    patch(cluster);
    return cluster;
  };
}

export interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}
interface ConnectionPoolLike { pool: { requestQueue: RequestQueueLike }[] }
interface PoolBuilderLike { build(o?: object): Promise<ConnectionPoolLike> }

/** kafkajs's interval between checks of requests that wait (throttled, or too many in flight). */
const CHECK_PENDING_MS = 10;

/**
 * kafkajs 2.2.4's request queue re-arms a timer of 1 ms for as long as a connection lives once it
 * has answered a request, also with nothing waiting (its delay is negative when nothing is
 * throttled: kafkajs issue #1704, and the TimeoutNegativeWarning on Node 24). That is ~1,000
 * wake-ups per second per connection, ~5 % of a core for an idle processor. The connections of
 * this client check only while requests wait: a request that has to wait schedules the check
 * when it is queued, and an answer checks at once, as before.
 */
function quietRequestQueues(kafka: KafkajsKafka): void {
  onEachCluster<{ connectionPoolBuilder: PoolBuilderLike }>(kafka, ({ connectionPoolBuilder: builder }) => {
    const build = builder.build.bind(builder);
    builder.build = async (o) => {
      const pool = await build(o);
      for (const c of pool.pool) quietRequestQueue(c.requestQueue);
      return pool;
    };
  });
}

/** One connection's request queue, checked only while requests wait (exported for its test). */
export function quietRequestQueue(q: RequestQueueLike): void {
  q.scheduleCheckPendingRequests = scheduleWhileWaiting;
}

function scheduleWhileWaiting(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, throttled > 0 ? throttled : CHECK_PENDING_MS);
}

const RETRIABLE_NAMES = new Set([
  'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError', 'KafkaJSLockTimeout', 'KafkaJSMetadataNotLoaded', 'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound', 'KafkaJSStaleTopicMetadataAssignment', 'KafkaJSTimeout',
]);

/** A kafkajs failure that may succeed when tried again (the broker away, a leader moving). */
export function isRetriable(err: unknown): boolean {
  let e = err as { name?: string; retriable?: boolean; cause?: unknown; code?: string } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e.retriable === true || (e.name !== undefined && RETRIABLE_NAMES.has(e.name))) return true;
    if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === 'ETIMEDOUT') return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** An error marked retriable for isRetriable (a per-partition error code in a fetch response). */
export class RetriableKafkaError extends Error {
  readonly retriable = true;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(opts: { nodeId: string }): Promise<KafkajsBroker>;
  findGroupCoordinator(opts: { groupId: string }): Promise<KafkajsBroker>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export interface KafkajsMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord?: boolean;
}

interface KafkajsBroker {
  fetch(req: unknown): Promise<{ responses: { topicName: string; partitions: { partition: number; errorCode: number; highWatermark: string; messages: KafkajsMessage[] }[] }[] }>;
  leaveGroup(req: { groupId: string; memberId: string }): Promise<unknown>;
}

export type { KafkajsCluster, KafkajsBroker };

/**
 * kafkajs's cluster object: fetch by offset without a group (it has no public "assign") and
 * LeaveGroup by member id. Private API, hence kafkajs pinned to 2.2.4 in package.json.
 */
export function clusterOf(kafka: KafkajsKafka): KafkajsCluster {
  const { slot, sym } = clusterFactory<KafkajsCluster>(kafka);
  return slot[sym]!({ allowAutoTopicCreation: false, maxInFlightRequests: null });
}

/**
 * Sends a request partita built itself ({ request, response, requestTimeout }) on a kafkajs
 * Broker's connection pool, through the Broker's private send method.
 */
export function sendRequest<T>(broker: object, request: unknown): Promise<T> {
  const proto = Object.getPrototypeOf(broker) as object;
  const sym = Object.getOwnPropertySymbols(proto).find((s) => s.description === 'private:Broker:sendRequest');
  if (!sym) throw new Error('partita: this kafkajs version has no Broker send method (kafkajs 2.2.x expected)');
  return (broker as Record<symbol, (req: unknown) => Promise<T>>)[sym]!.call(broker, request);
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

export const toBuffer = (b: Uint8Array | null): Buffer | null =>
  b === null ? null : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
