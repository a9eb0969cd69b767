// Shared by the broker-backed tests: the broker address, unique names, topic setup,
// read-back and deadline-bounded waiting (never a fixed sleep).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

/** The broker of this test run. A broker test never skips: no broker is a failure. */
export function brokers(): string[] {
  const list = (process.env['KAFKA_BROKERS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error('KAFKA_BROKERS is not set: run the tests with `npm test`, which finds or starts a broker');
  return list;
}

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function kafka(on: string[] = brokers()): InstanceType<typeof Kafka> {
  return new Kafka({ clientId: unique('test'), brokers: on, logLevel: logLevel.NOTHING });
}

/** Creates topics on the shared broker (or on `on`) and waits until every partition has a leader. */
export async function createTopics(topics: { topic: string; partitions: number; compact?: boolean }[], on: string[] = brokers()): Promise<void> {
  const admin = kafka(on).admin();
  await admin.connect();
  try {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: t.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
    } catch {
      // kafkajs gives up waiting for leaders after 5 s on a busy 2-core box although the
      // topics were created: wait for their metadata ourselves, with a deadline.
    }
    await waitFor(`topics ${topics.map((t) => t.topic).join(', ')} to have leaders`, async () => {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        return topics.every((t) => meta.topics.find((m) => m.name === t.topic)?.partitions.filter((p) => p.leader >= 0).length === t.partitions);
      } catch {
        return false;
      }
    }, 30_000, 100);
  } finally {
    await admin.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** Reads a topic from the beginning with a plain kafkajs consumer until `count` records arrived. */
export async function readTopic(topic: string, count: number, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const consumer = kafka().consumer({ groupId: unique('reader'), maxWaitTimeInMs: 100 });
  const out: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`readTopic(${topic}): got ${out.length} of ${count} records in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[v.length - 1] : v);
            out.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? '', value: m.value, headers, timestamp: Number(m.timestamp) });
          }
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 60_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A temp directory removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'partita-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
