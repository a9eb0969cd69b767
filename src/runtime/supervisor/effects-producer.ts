// Produces one actor's effects (emits, loopbacks, table writes) in batch order, in requests of
// bounded size, and reports the changelog offset each batch's table writes end at. After a
// failed batch nothing more is produced: a later batch acked would let its offsets (and the
// failed batch's before them) be committed.
import { BrokerUnavailableError, ProduceError } from '../../errors.js';
import type { Hasher } from '../../hashers.js';
import type { EncodedBatches, OutRecord, ProduceAck, ProducerPort } from '../../kafka/ports.js';
import { decodeRecordBatches, RecordBatchBuilder } from '../../kafka/record-batch.js';
import type { DoneOffset } from '../protocol.js';
import { WireReader } from '../wire.js';

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
    const results = group.map(() => ({ changelogOffset: null as number | null, produced: new Map<string, number>() }));
    const topics = new Set<string>();
    let records = 0;
    try {
      // The packed effects go straight into one record batch per topic and partition, with no
      // object per record; requests stay under MAX_REQUEST_BYTES, in order.
      const requests: Request[] = [];
      let req = new Request();
      // The batch each changelog record belongs to, in order.
      const tableOwner: number[] = [];
      group.forEach((q, i) => {
        const r = new WireReader(q.buffer);
        const perTopic = new Array<number>(r.topics.length).fill(0);
        const partitions = new Array<number>(r.topics.length).fill(0);
        while (r.next()) {
          const topic = r.topics[r.topic]!;
          let p = r.partition;
          if (p < 0) {
            let n = partitions[r.topic]!;
            if (n === 0) partitions[r.topic] = n = this.#d.partitionsOf(topic);
            p = this.#d.hasher(r.key() ?? EMPTY_KEY, n);
          }
          const size = 64 + Math.max(0, r.keyLength) + Math.max(0, r.valueLength) + r.headerBytes;
          if (req.bytes > 0 && req.bytes + size > MAX_REQUEST_BYTES) {
            requests.push(req);
            req = new Request();
          }
          req.bytes += size;
          req.batch(topic, p).add(r.timestamp, r.bytes, r.keyAt, r.keyLength, r.bytes, r.valueAt, r.valueLength, r.headerPairs());
          if (topic === tableTopic && p === partition) {
            tableOwner.push(i);
            req.tableRecords++;
          }
          perTopic[r.topic]!++;
          records++;
        }
        r.topics.forEach((t, k) => {
          topics.add(t);
          if (perTopic[k]! > 0) results[i]!.produced.set(t, perTopic[k]!);
        });
      });
      if (req.bytes > 0) requests.push(req);
      // Requests go out one after the other, so order per partition holds; each one's ack
      // gives the offsets of its changelog records.
      let t = 0;
      for (const request of requests) {
        const acks = await sendEncoded(this.#d.producer, request.finish());
        if (request.tableRecords > 0) {
          const ack = acks.find((a) => a.topic === tableTopic && a.partition === partition);
          if (!ack) throw new Error('the broker acked no changelog offset');
          for (let j = 0; j < request.tableRecords; j++) results[tableOwner[t + j]!]!.changelogOffset = ack.baseOffset + j;
          t += request.tableRecords;
        }
      }
      group.forEach((q, i) => {
        if (q.tableWrites > 0 && results[i]!.changelogOffset === null) throw new Error('the broker acked no changelog offset');
      });
      return results;
    } catch (err) {
      this.#failed = true;
      const names = [...topics].join(', ') || tableTopic;
      const first = group.flatMap((q) => q.done).map((d) => `${d.topic}@${d.offset}`).join(', ') || 'none';
      this.#d.fail(err instanceof BrokerUnavailableError ? err : new ProduceError(names,
        `group '${this.#d.group}' partition ${partition}: producing ${records} records to ${names} failed; inputs up to ${first} stay uncommitted: ${(err as Error).message}`,
        { cause: err }));
      return undefined;
    }
  }
}

/** One produce request being built: a record batch per topic and partition. */
class Request {
  readonly #batches = new Map<string, Map<number, RecordBatchBuilder>>();
  /** Estimated size, for the request bound. */
  bytes = 0;
  /** Records of the actor's own changelog partition. */
  tableRecords = 0;

  #lastTopic = '';
  #lastPartition = -1;
  #last: RecordBatchBuilder | undefined;

  batch(topic: string, partition: number): RecordBatchBuilder {
    // Runs of records to one partition (an actor's changelog) skip the lookups.
    if (this.#last && topic === this.#lastTopic && partition === this.#lastPartition) return this.#last;
    this.#lastTopic = topic;
    this.#lastPartition = partition;
    return (this.#last = this.#lookup(topic, partition));
  }

  #lookup(topic: string, partition: number): RecordBatchBuilder {
    let m = this.#batches.get(topic);
    if (!m) this.#batches.set(topic, (m = new Map()));
    let b = m.get(partition);
    if (!b) m.set(partition, (b = new RecordBatchBuilder(16 * 1024)));
    return b;
  }

  finish(): EncodedBatches {
    const now = Date.now();
    return new Map([...this.#batches].map(([t, m]) => [t, new Map([...m].map(([p, b]) => [p, b.finish(now)]))]));
  }
}

/** Through the port's sendBatches, or (a port without it, as the tester's) decoded into records again. */
function sendEncoded(producer: ProducerPort, batches: EncodedBatches): Promise<ProduceAck[]> {
  if (producer.sendBatches) return producer.sendBatches(batches);
  const records: OutRecord[] = [];
  for (const [topic, parts] of batches) {
    for (const [partition, bytes] of parts) {
      for (const r of decodeRecordBatches(bytes, 0, Number.POSITIVE_INFINITY)) records.push({ topic, partition, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
    }
  }
  return producer.send(records);
}
