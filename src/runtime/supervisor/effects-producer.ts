// Produces one actor's effects (emits, loopbacks, table writes) in batch order, in requests of
// bounded size, and reports the changelog offset each batch's table writes end at. After a
// failed batch nothing more is produced: a later batch acked would let its offsets (and the
// failed batch's before them) be committed.
import { BrokerUnavailableError, ProduceError } from '../../errors.js';
import type { Hasher } from '../../hashers.js';
import type { OutRecord, ProducerPort } from '../../kafka/ports.js';
import type { DoneOffset } from '../protocol.js';
import { readBatch } from '../wire.js';

export interface EffectsDeps {
  group: string;
  partition: number;
  tableTopic: string;
  producer: ProducerPort;
  hasher: Hasher;
  partitionsOf(topic: string): number;
  /** The first failure: the processor stops. */
  fail(err: Error): void;
}

/** Requests stay under the broker's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 900 * 1024;
const EMPTY_KEY = new Uint8Array(0);

export class EffectsProducer {
  readonly #d: EffectsDeps;
  #chain: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(deps: EffectsDeps) {
    this.#d = deps;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Settles once everything enqueued so far was produced (or failed). */
  idle(): Promise<void> {
    return this.#chain;
  }

  /**
   * Queues a batch; `acked(changelogOffset)` runs once the broker acked all of it (null: the
   * batch wrote no table record).
   */
  enqueue(buffer: ArrayBuffer, tableWrites: number, done: DoneOffset[], acked: (changelogOffset: number | null, produced: Map<string, number>) => void): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#failed) return;
      const produced = new Map<string, number>();
      const offset = await this.#produce(buffer, tableWrites, done, produced);
      if (offset !== undefined) acked(offset, produced);
    });
  }

  /** `produced` gets the records written per topic once all are acked. */
  async #produce(buffer: ArrayBuffer, tableWrites: number, done: DoneOffset[], produced: Map<string, number>): Promise<number | null | undefined> {
    const { tableTopic, partition } = this.#d;
    let out: OutRecord[] = [];
    let changelogOffset: number | null = null;
    try {
      out = readBatch(buffer).map((r) => ({
        topic: r.topic,
        partition: r.partition >= 0 ? r.partition : this.#d.hasher(r.key ?? EMPTY_KEY, this.#d.partitionsOf(r.topic)),
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
      }));
      // Chunks go out one after the other, so order per partition holds, and the last chunk
      // with table records gives the changelog offset the batch ends at.
      for (const chunk of chunks(out, tableTopic, partition)) {
        const acks = await this.#d.producer.send(chunk.records);
        if (chunk.tableRecords > 0) {
          const ack = acks.find((a) => a.topic === tableTopic && a.partition === partition);
          if (ack) changelogOffset = ack.baseOffset + chunk.tableRecords - 1;
        }
      }
      if (tableWrites > 0 && changelogOffset === null) throw new Error('the broker acked no changelog offset');
      for (const r of out) produced.set(r.topic, (produced.get(r.topic) ?? 0) + 1);
      return changelogOffset;
    } catch (err) {
      this.#failed = true;
      const topics = [...new Set(out.map((o) => o.topic))].join(', ') || tableTopic;
      const first = done.map((d) => `${d.topic}@${d.offset}`).join(', ') || 'none';
      this.#d.fail(err instanceof BrokerUnavailableError ? err : new ProduceError(topics,
        `group '${this.#d.group}' partition ${partition}: producing ${out.length} records to ${topics} failed; inputs up to ${first} stay uncommitted: ${(err as Error).message}`,
        { cause: err }));
      return undefined;
    }
  }
}

/** Splits records into produce requests of bounded size, keeping their order. */
function* chunks(records: OutRecord[], tableTopic: string, partition: number): Generator<{ records: OutRecord[]; tableRecords: number }> {
  let cur: OutRecord[] = [];
  let bytes = 0;
  let table = 0;
  for (const r of records) {
    let size = 64 + (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) size += k.length + v.byteLength + 8;
    if (cur.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      yield { records: cur, tableRecords: table };
      cur = [];
      bytes = 0;
      table = 0;
    }
    cur.push(r);
    bytes += size;
    if (r.topic === tableTopic && r.partition === partition) table++;
  }
  if (cur.length > 0) yield { records: cur, tableRecords: table };
}
