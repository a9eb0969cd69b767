// AdminPort on a kafkajs admin client: topic metadata, creation, configs, group descriptions.
import { TopicError } from '../../errors.js';
import type { BrokerHealth } from '../broker-health.js';
import { delay } from '../broker-health.js';
import type { AdminPort, GroupDescription, TopicSpec } from '../ports.js';
import { isRetriable, kafkajsModule, type KafkajsKafka } from './base.js';

type KafkajsAdmin = ReturnType<KafkajsKafka['admin']>;

export class KafkajsAdminPort implements AdminPort {
  readonly #admin: KafkajsAdmin;
  readonly #health: BrokerHealth;
  #connected: Promise<void> | undefined;
  #closed = false;

  constructor(kafka: KafkajsKafka, health: BrokerHealth) {
    this.#admin = kafka.admin();
    this.#health = health;
  }

  #call<T>(operation: string, op: (admin: KafkajsAdmin) => Promise<T>): Promise<T> {
    return this.#health.call(operation, async () => {
      this.#connected ??= this.#admin.connect().catch((err: unknown) => {
        this.#connected = undefined;
        throw err;
      });
      await this.#connected;
      return op(this.#admin);
    }, { retriable: isRetriable, closed: () => this.#closed });
  }

  partitionCounts(topics: string[]): Promise<Map<string, number>> {
    return this.#call('topic metadata', async (admin) => {
      const all = await this.#metadata(admin);
      const out = new Map<string, number>();
      for (const t of topics) {
        const parts = all.get(t);
        if (parts) out.set(t, parts.length);
      }
      return out;
    });
  }

  /**
   * Every topic's partitions, in one Metadata request. kafkajs's listTopics and a
   * fetchTopicMetadata of named topics are a request each (a named topic that does not exist
   * fails the whole call), and start-up asked for a dozen such pairs before joining the group.
   */
  async #metadata(admin: KafkajsAdmin): Promise<Map<string, { leader: number }[]>> {
    const meta = await admin.fetchTopicMetadata();
    return new Map(meta.topics.map((t) => [t.name, t.partitions]));
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    let failure: unknown;
    try {
      await this.#call(`create topic ${spec.topic}`, (admin) => admin.createTopics({
        // Leaders are waited for below, at a finer step than kafkajs's own metadata retries.
        waitForLeaders: false,
        topics: [{
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replication,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        }],
      }));
    } catch (err) {
      failure = err;
      // The broker refused the topic itself (a replication factor above its brokers, a bad config,
      // a policy, no authorization): no wait for metadata will change that.
      const refused = creationErrors(err).find((e) => e.type !== 'TOPIC_ALREADY_EXISTS' && !isRetriable(e));
      if (refused) throw new TopicError(spec.topic, `cannot create topic '${spec.topic}': the broker refused it (${refused.type}: ${refused.message})`, { cause: err });
    }
    // Another instance may have created it, or the create went through but its metadata is slow
    // to appear (kafkajs gives up after 5 s on a busy broker; KRaft publishes metadata
    // asynchronously): done once the topic is listed with its partitions.
    const deadline = Date.now() + 15_000;
    while (!(await this.#hasLeaders(spec.topic))) {
      if (Date.now() > deadline) {
        throw new TopicError(spec.topic, `cannot create topic '${spec.topic}': ${failure instanceof Error ? failure.message : 'it did not appear in the metadata with a leader for every partition'}`, { cause: failure });
      }
      await delay(20);
    }
  }

  /** The topic is in the metadata, and every partition has a leader. */
  #hasLeaders(topic: string): Promise<boolean> {
    return this.#call('topic metadata', async (admin) => {
      const parts = (await this.#metadata(admin)).get(topic) ?? [];
      return parts.length > 0 && parts.every((p) => p.leader >= 0);
    });
  }

  describeConfig(topic: string): Promise<Record<string, string>> {
    return this.#call(`describe config ${topic}`, async (admin) => {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: kafkajsModule().ConfigResourceTypes.TOPIC, name: topic }],
      });
      const out: Record<string, string> = {};
      for (const e of res.resources[0]?.configEntries ?? []) out[e.configName] = e.configValue;
      return out;
    });
  }

  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.#call(`describe group ${groupId}`, async (admin) => {
      const { groups } = await admin.describeGroups([groupId]);
      const g = groups[0];
      return {
        groupId,
        state: g?.state ?? 'Dead',
        members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost })),
      };
    });
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.#call(`end offsets ${topic}`, async (admin) => {
      const out: number[] = [];
      for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = Number(p.high);
      return out;
    });
  }

  committedOffsets(groupId: string, topic: string): Promise<(number | null)[]> {
    return this.#call(`committed offsets ${groupId} ${topic}`, async (admin) => {
      const out: (number | null)[] = [];
      for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const p of t.partitions) out[p.partition] = Number(p.offset) >= 0 ? Number(p.offset) : null;
      }
      return out;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connected) {
      await this.#connected.catch(() => undefined);
      await this.#admin.disconnect().catch(() => undefined);
    }
  }
}

/** The per-topic errors of a kafkajs createTopics failure (it throws them as one aggregate). */
function creationErrors(err: unknown): { type: string; message: string }[] {
  const errors = (err as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.filter((e): e is { type: string; message: string } => typeof (e as { type?: unknown })?.type === 'string');
}
