import type { ExecutionContext } from 'ava';
import { pino, type Logger } from 'pino';
import { Emitter, Processor, codecs, type ProcessorOptions } from '../src/index.js';
import { brokers, kafka, waitFor } from './helpers.js';

export interface ActorStats {
  partition: number;
  state: string;
  processed: number;
  recovery: { checkpoint: number | null; from: number; to: number; records: number; wiped: boolean; ms: number } | null;
}

export function actors(p: Processor): ActorStats[] {
  return p.stats().actors;
}

export const processed = (p: Processor): number => actors(p).reduce((s, a) => s + a.processed, 0);

/** Starts a processor and waits until it is ready; `done` is run()'s promise. Stopped at test end. */
export async function start(opts: Omit<ProcessorOptions, 'brokers'>, t?: ExecutionContext): Promise<{ p: Processor; done: Promise<void> }> {
  const p = new Processor({ brokers: brokers(), ...opts });
  const done = p.run();
  done.catch(() => undefined); // inspected by the tests that expect a failure
  t?.teardown(() => p.stop());
  await Promise.race([p.ready(), done]);
  return { p, done };
}

export async function waitProcessed(p: Processor, n: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(`${n} records processed (have ${processed(p)})`, () => processed(p) >= n, timeoutMs);
}

/** Emits `count` string messages round-robin over `keys` keys; returns the expected count per key. */
export async function emitCounts(topic: string, count: number, keys: number, value = 'click'): Promise<Map<string, number>> {
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  const expected = new Map<string, number>();
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const key = `user-${i % keys}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    all.push(emitter.emit(key, value));
  }
  await Promise.all(all);
  await emitter.close();
  return expected;
}

export function merge(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

/** Every key's table value, read through the processor. */
export async function tableOf(p: Processor, keys: Iterable<string>): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const k of keys) out.set(k, await p.get(k));
  return out;
}

/** A key's value from whichever of several instances holds its partition. */
export async function getAnywhere(ps: Processor[], key: string): Promise<unknown> {
  for (const p of ps) {
    try {
      return await p.get(key);
    } catch (err) {
      if ((err as { code?: string }).code !== 'PARTITA_NOT_FOUND') throw err;
    }
  }
  return undefined;
}

/** Sum of the committed offsets of a group on a topic (0 where nothing is committed). */
export async function committed(group: string, topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return res[0]!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A pino logger that keeps every record (info and up) for the test to inspect. */
export function captureLogger(): { logger: Logger; records: { level: number; msg: string }[] } {
  const records: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}
