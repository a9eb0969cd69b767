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

type Acked = (changelogOffset: number | null, produced: Map<string, number>) => void;

interface Queued {
  buffer: ArrayBuffer;
  tableWrites: number;
  done: DoneOffset[];
  acked: Acked;
}

/** Batches waiting while a send is in flight go out together, up to this many bytes of effects. */
const MAX_GROUP_BYTES = 4 * 1024 * 1024;

export class EffectsProducer {
  readonly #d: EffectsDeps;
  readonly #queue: Queued[] = [];
  #running: Promise<void> | undefined;
  #failed = false;

  constructor(deps: EffectsDeps) {
    this.#d = deps;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Settles once everything enqueued so far was produced (or failed). */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /**
   * Queues a batch; `acked(changelogOffset)` runs once the broker acked all of it (null: the
   * batch wrote no table record). Batches are acked in order.
   */
  enqueue(buffer: ArrayBuffer, tableWrites: number, done: DoneOffset[], acked: Acked): void {
    this.#queue.push({ buffer, tableWrites, done, acked });
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /**
   * One send at a time, so the records of a partition stay in order. The batches that queued
   * up meanwhile go out together in the next send: with one request in flight per actor, the
   * actor's effects would otherwise be produced at one small batch per round trip, and a busy
   * broker would hold the partition paused.
   */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failed) {
      let bytes = 0;
      let n = 0;
      while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n]!.buffer.byteLength <= MAX_GROUP_BYTES)) bytes += this.#queue[n++]!.buffer.byteLength;
      const group = this.#queue.splice(0, n);
      const results = await this.#produce(group);
      if (!results) return;
      group.forEach((q, i) => q.acked(results[i]!.changelogOffset, results[i]!.produced));
    }
  }

  /** Produces the batches' records in order; per batch, its last changelog offset and its records per topic. */
  async #produce(group: Queued[]): Promise<{ changelogOffset: number | null; produced: Map<string, number> }[] | undefined> {
    const { tableTopic, partition } = this.#d;
    const out: OutRecord[] = [];
    // The batch each changelog record belongs to, in order.
    const tableOwner: number[] = [];
    const results = group.map(() => ({ changelogOffset: null as number | null, produced: new Map<string, number>() }));
    try {
      group.forEach((q, i) => {
        for (const r of readBatch(q.buffer)) {
          const o: OutRecord = {
            topic: r.topic,
            partition: r.partition >= 0 ? r.partition : this.#d.hasher(r.key ?? EMPTY_KEY, this.#d.partitionsOf(r.topic)),
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: r.timestamp,
          };
          out.push(o);
          if (o.topic === tableTopic && o.partition === partition) tableOwner.push(i);
          const produced = results[i]!.produced;
          produced.set(o.topic, (produced.get(o.topic) ?? 0) + 1);
        }
      });
      // Chunks go out one after the other, so order per partition holds; each chunk's ack
      // gives the offsets of its changelog records.
      let t = 0;
      for (const chunk of chunks(out, tableTopic, partition)) {
        const acks = await this.#d.producer.send(chunk.records);
        if (chunk.tableRecords > 0) {
          const ack = acks.find((a) => a.topic === tableTopic && a.partition === partition);
          if (!ack) throw new Error('the broker acked no changelog offset');
          for (let j = 0; j < chunk.tableRecords; j++) results[tableOwner[t + j]!]!.changelogOffset = ack.baseOffset + j;
          t += chunk.tableRecords;
        }
      }
      group.forEach((q, i) => {
        if (q.tableWrites > 0 && results[i]!.changelogOffset === null) throw new Error('the broker acked no changelog offset');
      });
      return results;
    } catch (err) {
      this.#failed = true;
      const topics = [...new Set(out.map((o) => o.topic))].join(', ') || tableTopic;
      const first = group.flatMap((q) => q.done).map((d) => `${d.topic}@${d.offset}`).join(', ') || 'none';
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
