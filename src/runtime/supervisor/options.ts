import type { Hasher } from '../../hashers.js';
import type { Headers } from '../../headers.js';
import type { KafkaClientFactory } from '../../kafka/ports.js';
import type { TopicSettings } from '../../kafka/topic-manager.js';
import type { Logger } from '../../logger.js';
import type { StorageSpec } from '../../storage/storage.js';
import type { NilHandling } from '../protocol.js';
import type { StartedThreads } from './thread-pool.js';

/** Processor options after defaults and validation. */
export interface ResolvedOptions {
  brokers: string[];
  clientId: string;
  /** Run actors in the calling thread. */
  inline: boolean;
  groupModule: string | undefined;
  workers: number | undefined;
  /** With worker threads, the main thread hosts its share of the actors too. */
  mainThreadActors: boolean;
  /** Threads Processor.run() started already (a module URL and `workers` given), and their start. */
  threads?: StartedThreads | undefined;
  storage: StorageSpec;
  hasher: Hasher;
  nilHandling: NilHandling;
  tableTopic: string;
  loopTopic: string;
  topics: TopicSettings;
  defaultHeaders: Headers | undefined;
  logger: Logger;
  onRebalance: ((assignment: { partitions: number[] }) => void) | undefined;
  maxInflight: number;
  flushEvery: number;
  commitIntervalMs: number;
  offsetsRefreshMs: number;
  stopTimeoutMs: number;
  sessionTimeoutMs: number;
  hotStandby: boolean;
  recoverAhead: boolean;
  brokerOutageMs: number;
  connectTimeoutMs: number;
  kafkaClient: KafkaClientFactory;
}
