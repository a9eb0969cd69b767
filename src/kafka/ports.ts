// The seam between partita and a Kafka client. The runtime (supervisor, handles, emitter,
// topic manager, and later views and the tester) talks only to these interfaces; the kafkajs
// implementation in ./kafkajs/ is injected through a KafkaClientFactory, so an in-memory
// implementation (partita/tester) or a second client can stand behind the same seam.
//
// Every implementation owns its retries: a call either succeeds, or fails with a partita error
// (BrokerUnavailableError once the broker has been unreachable longer than the client's bound,
// ProduceError / TopicError for what retrying cannot fix). Callers never see a client's own error
// except as `cause`.
import type { Headers } from '../headers.js';
import type { Logger } from '../logger.js';

/** A record read from Kafka (group member or partition reader), as partita passes it on. */
export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Headers | undefined;
}

/** A record to produce; the partition is always chosen by partita (hasher or co-partitioning). */
export interface OutRecord {
  topic: string;
  partition: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: Headers | undefined;
  timestamp?: number | undefined;
}

/** First offset written per topic-partition by one send. */
export interface ProduceAck {
  topic: string;
  partition: number;
  baseOffset: number;
}

export interface Watermarks {
  /** First offset still in the log. */
  low: number;
  /** Offset the next record will get (high-water mark). */
  high: number;
}

export interface TopicOffset {
  topic: string;
  partition: number;
  /** The next offset to consume. */
  offset: number;
}

// ---- producing ---------------------------------------------------------------------------

/** Encoded record batches to produce: one per topic and partition (record-batch.ts's RecordBatchBuilder). */
export type EncodedBatches = ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>;

export interface ProducerPort {
  /** Writes records (acks=all) and resolves once the broker acked all of them. Order per partition holds. */
  send(records: OutRecord[]): Promise<ProduceAck[]>;
  /**
   * Optional: writes record batches partita encoded (uncompressed, magic 2), as `send` would
   * their records. Processors produce their effects through it when a port has it; without it,
   * the batches are decoded again and go through `send`.
   */
  sendBatches?(batches: EncodedBatches): Promise<ProduceAck[]>;
  close(): Promise<void>;
}

// ---- reading partitions without a group (changelog recovery, views) -----------------------

export interface ReadOptions {
  /** First offset to read (inclusive). */
  from: number;
  /** Stop before this offset; omitted: follow the partition until `signal` aborts. */
  to?: number;
  signal?: AbortSignal;
}

/**
 * Records of one read, in offset order: Kafka's record batches as fetched, to be decoded where
 * they are applied (possibly another thread: decodeRecordBatches), or records decoded already.
 * Compaction gaps and control records are not part of it.
 */
export interface RecordChunk {
  /** Records in the chunk (at least one). */
  count: number;
  /** Offset of its last record. */
  last: number;
  /** Plain record batches (magic 2, uncompressed); the chunk is their records in [from, to). */
  batches?: { bytes: Uint8Array; from: number; to: number };
  /** Or the records themselves (a client that decodes them, or batches partita cannot read). */
  records?: KafkaRecord[];
}

export interface ReaderPort {
  watermarks(topic: string, partition: number): Promise<Watermarks>;
  read(topic: string, partition: number, options: ReadOptions): AsyncIterable<RecordChunk>;
  close(): Promise<void>;
}

// ---- admin -------------------------------------------------------------------------------

export interface TopicSpec {
  topic: string;
  partitions: number;
  replication: number;
  config: Record<string, string>;
}

export interface GroupMemberInfo {
  memberId: string;
  clientId: string;
  host: string;
}

export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  state: string;
  members: GroupMemberInfo[];
}

export interface AdminPort {
  /** Partition counts of the topics that exist (missing topics are absent). */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Creates a topic (nothing if it exists: created by another instance meanwhile); resolves once it is in the metadata. */
  createTopic(spec: TopicSpec): Promise<void>;
  describeConfig(topic: string): Promise<Record<string, string>>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** The high-water mark of every partition of a topic, indexed by partition. */
  endOffsets(topic: string): Promise<number[]>;
  /** The group's committed offsets (next offset to consume) of a topic, indexed by partition; null: none. */
  committedOffsets(groupId: string, topic: string): Promise<(number | null)[]>;
  close(): Promise<void>;
}

// ---- group membership --------------------------------------------------------------------

export interface GroupMemberOptions {
  groupId: string;
  topics: string[];
  sessionTimeoutMs: number;
  /** Upper bound for waiting on a join in progress when stopping. */
  stopTimeoutMs: number;
}

export interface GroupHandlers {
  /** The partitions this member owns now (the same set for every subscribed topic). */
  onAssignment(partitions: number[]): void;
  /** Records fetched for an owned partition, in offset order (a refetch may repeat some). */
  onBatch(topic: string, partition: number, chunk: RecordChunk, highWatermark: number): void;
  /** Membership is lost for good (broker unreachable past the bound, a non-retriable error). */
  onFatal(err: Error): void;
}

/**
 * Membership in a consumer group with a co-partitioning assignment. The implementation owns
 * rejoins and restarts after crashes; `stop()` leaves the group and resolves only when no
 * member of this instance remains (or none can: the broker is gone and its session expires).
 */
export interface GroupMemberPort {
  /** Joins; resolves after the first assignment. */
  start(handlers: GroupHandlers): Promise<void>;
  pause(partition: number): void;
  resume(partition: number): void;
  /** Commits offsets; resolves false when not a member right now (rejoining): keep them and retry. */
  commit(offsets: TopicOffset[]): Promise<boolean>;
  stop(): Promise<void>;
}

// ---- the client --------------------------------------------------------------------------

export interface ClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How long the broker may be unreachable while running before calls fail (default 60 s). */
  brokerOutageMs: number;
  /** How long the first connection may take before calls fail (default 10 s). */
  connectTimeoutMs: number;
}

/** One set of connections (a processor's, an emitter's, a view's). */
export interface KafkaClient {
  readonly brokers: readonly string[];
  producer(): ProducerPort;
  reader(): ReaderPort;
  admin(): AdminPort;
  groupMember(options: GroupMemberOptions): GroupMemberPort;
  /** True while calls fail and are being retried (an outage in progress). */
  isDown(): boolean;
}

export type KafkaClientFactory = (options: ClientOptions) => KafkaClient;
