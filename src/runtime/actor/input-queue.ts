import { bytesAt, RecordReader, recordHeaders } from '../../kafka/record-batch.js';
import { RecordKind, type WireRecord } from '../wire.js';

/** Fetched record batches of one topic, read as the actor gets to them. */
interface BatchSource {
  topic: string;
  bytes: Uint8Array;
  reader: RecordReader;
}

type Source = WireRecord[] | BatchSource;

/**
 * An actor's input records, in arrival order. Fetched record batches are decoded one record at a
 * time when the actor takes it, not when they arrive: under a backlog a fetch holds tens of
 * thousands of records per partition, and decoding them up front kept them all alive across
 * young-generation GCs, which then copied them (about an eighth of a busy actor thread's time).
 */
export class InputQueue {
  readonly #partition: number;
  #sources: Source[] = [];
  #head = 0;
  /** Position in the head source when it is an array. */
  #pos = 0;
  #next: WireRecord | undefined;

  constructor(partition: number) {
    this.#partition = partition;
  }

  pushRecords(records: WireRecord[]): void {
    if (records.length > 0) this.#push(records);
  }

  pushBatches(topic: string, bytes: Uint8Array, from: number, to: number): void {
    this.#push({ topic, bytes, reader: new RecordReader(bytes, from, to) });
  }

  /** The next record, without taking it. */
  peek(): WireRecord | undefined {
    return (this.#next ??= this.#read());
  }

  take(): WireRecord | undefined {
    const r = this.peek();
    this.#next = undefined;
    return r;
  }

  /** Drops every waiting record; returns how many there were (counted, not decoded). */
  clear(): number {
    let n = this.#next ? 1 : 0;
    for (let i = this.#head; i < this.#sources.length; i++) {
      const s = this.#sources[i]!;
      if (!Array.isArray(s)) while (s.reader.next()) n++;
      else n += s.length - (i === this.#head ? this.#pos : 0);
    }
    this.#next = undefined;
    this.#sources = [];
    this.#head = 0;
    this.#pos = 0;
    return n;
  }

  #push(s: Source): void {
    // Sources already read are dropped here rather than on every take; under a steady backlog the
    // queue never runs dry, so they go in bulk.
    if (this.#head >= 32 || (this.#head > 0 && this.#head === this.#sources.length)) {
      this.#sources = this.#sources.slice(this.#head);
      this.#head = 0;
    }
    this.#sources.push(s);
  }

  #read(): WireRecord | undefined {
    while (this.#head < this.#sources.length) {
      const s = this.#sources[this.#head]!;
      if (Array.isArray(s)) {
        if (this.#pos < s.length) return s[this.#pos++];
      } else if (s.reader.next()) {
        const { reader: r, bytes } = s;
        return {
          kind: RecordKind.Input, topic: s.topic, partition: this.#partition, offset: r.offset, timestamp: r.timestamp,
          key: bytesAt(bytes, r.keyAt, r.keyLength), value: bytesAt(bytes, r.valueAt, r.valueLength), headers: recordHeaders(bytes, r.headersAt),
        };
      }
      this.#sources[this.#head++] = []; // let the bytes go
      this.#pos = 0;
    }
    return undefined;
  }
}
