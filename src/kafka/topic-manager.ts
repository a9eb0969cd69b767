import { NotCopartitionedError, TopicError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdminPort } from './ports.js';

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

/** Creates and checks topics (streams with the delete policy, compacted tables) and co-partitioning, on an AdminPort. */
export class TopicManager {
  readonly #admin: AdminPort;
  readonly #log: Logger;
  readonly #settings: Required<Omit<TopicSettings, 'retentionMs'>> & { retentionMs?: number };

  constructor(admin: AdminPort, logger: Logger, settings: TopicSettings = {}) {
    this.#admin = admin;
    this.#log = logger;
    this.#settings = { replication: 1, mismatch: 'warn', ...settings };
  }

  /** Partition count of a topic, or undefined when it does not exist. */
  async partitions(topic: string): Promise<number | undefined> {
    const counts = await this.partitionCounts([topic]);
    return counts.get(topic);
  }

  /** Partition counts of several topics; missing topics are absent from the map. */
  partitionCounts(topics: string[]): Promise<Map<string, number>> {
    return this.#admin.partitionCounts(topics);
  }

  /**
   * Checks that all topics exist and have one partition count; returns it. `counts`: the
   * partition counts already fetched (one metadata request for all of start-up's topics).
   */
  async checkCopartitioned(topics: string[], context: string, counts?: Map<string, number>): Promise<number> {
    counts ??= await this.partitionCounts(topics);
    const missing = topics.filter((t) => !counts.has(t));
    if (missing.length > 0) {
      throw new TopicError(missing[0]!, `${context}: topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} not found`);
    }
    const distinct = new Set(topics.map((t) => counts.get(t)!));
    if (distinct.size > 1) throw new NotCopartitionedError(Object.fromEntries(topics.map((t) => [t, counts.get(t)!])), context);
    return [...distinct][0]!;
  }

  /**
   * Creates the stream topic, or checks the existing one against the settings. Resolves to its
   * partition count. `counts`: as in checkCopartitioned (a topic absent from it does not exist).
   */
  ensureStream(topic: string, partitions: number, counts?: Map<string, number>): Promise<number> {
    const config: Record<string, string> = { 'cleanup.policy': 'delete' };
    if (this.#settings.retentionMs !== undefined) config['retention.ms'] = String(this.#settings.retentionMs);
    return this.#ensure(topic, { kind: 'stream', partitions, config }, counts);
  }

  /** As ensureStream, for a compacted table topic. */
  ensureTable(topic: string, partitions: number, counts?: Map<string, number>): Promise<number> {
    return this.#ensure(topic, { kind: 'table', partitions, config: { 'cleanup.policy': 'compact' } }, counts);
  }

  /** The broker's view of a topic's configuration. */
  describeConfig(topic: string): Promise<Record<string, string>> {
    return this.#admin.describeConfig(topic);
  }

  async #ensure(topic: string, want: Wanted, counts: Map<string, number> | undefined): Promise<number> {
    const have = counts ? counts.get(topic) : await this.partitions(topic);
    if (have === undefined) {
      await this.#admin.createTopic({ topic, partitions: want.partitions, replication: this.#settings.replication, config: want.config });
      this.#log.info({ topic, partitions: want.partitions, kind: want.kind }, 'created topic');
      return want.partitions;
    }
    if (have !== want.partitions) {
      this.#mismatch(topic, `${want.kind} topic '${topic}' has ${have} partitions, expected ${want.partitions}`);
    }
    const config = await this.describeConfig(topic);
    for (const [k, v] of Object.entries(want.config)) {
      if (config[k] !== v) this.#mismatch(topic, `${want.kind} topic '${topic}' has ${k}=${config[k] ?? '(unset)'}, expected ${v}`);
    }
    return have;
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

  close(): Promise<void> {
    return this.#admin.close();
  }
}
