import { kafkajs, type KafkajsAdmin, type KafkajsKafka } from './client.js';
import { NotCopartitionedError, TopicError } from '../errors.js';
import type { Logger } from '../logger.js';

export type MismatchPolicy = 'ignore' | 'warn' | 'fail';

export interface TopicSettings {
  /** Replication factor for topics partita creates (default 1). */
  replication?: number;
  /** retention.ms for stream topics partita creates (default: the broker's). */
  retentionMs?: number;
  /** What to do when an existing topic differs from what partita would create (default 'warn'). */
  mismatch?: MismatchPolicy;
}

interface Wanted {
  kind: 'stream' | 'table';
  partitions: number;
  config: Record<string, string>;
}

/** Creates and checks topics: streams (delete policy), tables (compacted), co-partitioning. */
export class TopicManager {
  readonly #admin: KafkajsAdmin;
  readonly #log: Logger;
  readonly #settings: Required<Omit<TopicSettings, 'retentionMs'>> & { retentionMs?: number };
  #connected: Promise<void> | undefined;

  constructor(kafka: KafkajsKafka, logger: Logger, settings: TopicSettings = {}) {
    this.#admin = kafka.admin();
    this.#log = logger;
    this.#settings = { replication: 1, mismatch: 'warn', ...settings };
  }

  #connect(): Promise<void> {
    this.#connected ??= this.#admin.connect();
    return this.#connected;
  }

  /** Partition count of a topic, or undefined when it does not exist. */
  async partitions(topic: string): Promise<number | undefined> {
    const counts = await this.partitionCounts([topic]);
    return counts.get(topic);
  }

  /** Partition counts of several topics; missing topics are absent from the map. */
  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    await this.#connect();
    const existing = new Set(await this.#admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const out = new Map<string, number>();
    if (present.length === 0) return out;
    const meta = await this.#admin.fetchTopicMetadata({ topics: present });
    for (const t of meta.topics) out.set(t.name, t.partitions.length);
    return out;
  }

  /** Checks that all topics exist and have one partition count; returns it. */
  async checkCopartitioned(topics: string[], context: string): Promise<number> {
    const counts = await this.partitionCounts(topics);
    const missing = topics.filter((t) => !counts.has(t));
    if (missing.length > 0) {
      throw new TopicError(missing[0]!, `${context}: topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} not found`);
    }
    const distinct = new Set(counts.values());
    if (distinct.size > 1) throw new NotCopartitionedError(Object.fromEntries(topics.map((t) => [t, counts.get(t)!])), context);
    return [...distinct][0]!;
  }

  ensureStream(topic: string, partitions: number): Promise<void> {
    const config: Record<string, string> = { 'cleanup.policy': 'delete' };
    if (this.#settings.retentionMs !== undefined) config['retention.ms'] = String(this.#settings.retentionMs);
    return this.#ensure(topic, { kind: 'stream', partitions, config });
  }

  ensureTable(topic: string, partitions: number): Promise<void> {
    return this.#ensure(topic, { kind: 'table', partitions, config: { 'cleanup.policy': 'compact' } });
  }

  /** The broker's view of a topic's configuration. */
  async describeConfig(topic: string): Promise<Record<string, string>> {
    await this.#connect();
    const res = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
    });
    const out: Record<string, string> = {};
    for (const e of res.resources[0]?.configEntries ?? []) out[e.configName] = e.configValue;
    return out;
  }

  async #ensure(topic: string, want: Wanted): Promise<void> {
    const have = await this.partitions(topic);
    if (have === undefined) {
      await this.#create(topic, want);
      return;
    }
    if (have !== want.partitions) {
      this.#mismatch(topic, `${want.kind} topic '${topic}' has ${have} partitions, expected ${want.partitions}`);
    }
    const config = await this.describeConfig(topic);
    for (const [k, v] of Object.entries(want.config)) {
      if (config[k] !== v) this.#mismatch(topic, `${want.kind} topic '${topic}' has ${k}=${config[k] ?? '(unset)'}, expected ${v}`);
    }
  }

  async #create(topic: string, want: Wanted): Promise<void> {
    try {
      await this.#admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic,
          numPartitions: want.partitions,
          replicationFactor: this.#settings.replication,
          configEntries: Object.entries(want.config).map(([name, value]) => ({ name, value })),
        }],
      });
      this.#log.info({ topic, partitions: want.partitions, kind: want.kind }, 'created topic');
    } catch (err) {
      // Another instance may have created it, or the create went through but its metadata was
      // slow to appear (kafkajs gives up after 5 s on a busy broker): accept the topic once listed.
      const deadline = Date.now() + 15_000;
      while ((await this.partitions(topic)) === undefined) {
        if (Date.now() > deadline) {
          throw new TopicError(topic, `cannot create ${want.kind} topic '${topic}': ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  #mismatch(topic: string, message: string): void {
    switch (this.#settings.mismatch) {
      case 'ignore':
        return;
      case 'warn':
        this.#log.warn({ topic }, message);
        return;
      case 'fail':
        throw new TopicError(topic, message);
    }
  }

  async close(): Promise<void> {
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#admin.disconnect();
    }
  }
}
