// Packs record batches into one ArrayBuffer so a batch crosses a thread boundary as a single
// transferred buffer (8-13 M records/s) instead of structured-cloned objects (~0.7 M/s).
import type { Headers } from '../headers.js';
import { ProtocolError } from '../errors.js';
import { grown } from '../codec/grow.js';

export const enum RecordKind {
  Input = 0,
  Emit = 1,
  Table = 2,
  Loop = 3,
}

export interface WireRecord {
  kind: RecordKind;
  topic: string;
  /** -1 means "let the supervisor's hasher choose". */
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Headers | undefined;
}

const MAGIC = 0x50524331; // "PRC1"
const utf8e = new TextEncoder();
const utf8d = new TextDecoder();

/** Appends records into a growing buffer; `finish()` returns a transferable ArrayBuffer. */
export class BatchWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #topics = new Map<string, number>();
  #count = 0;

  constructor(initial = 64 * 1024) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  get count(): number {
    return this.#count;
  }

  #ensure(n: number): void {
    const next = grown(this.#buf, this.#pos, n);
    if (next === this.#buf) return;
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.#ensure(4);
      this.#view.setInt32(this.#pos, -1, true);
      this.#pos += 4;
      return;
    }
    this.#ensure(4 + b.byteLength);
    this.#view.setInt32(this.#pos, b.byteLength, true);
    this.#buf.set(b, this.#pos + 4);
    this.#pos += 4 + b.byteLength;
  }

  add(r: Omit<WireRecord, 'headers'> & { headers?: Headers | undefined }): void {
    let t = this.#topics.get(r.topic);
    if (t === undefined) this.#topics.set(r.topic, (t = this.#topics.size));
    this.#ensure(1 + 2 + 4 + 8 + 8);
    const v = this.#view;
    v.setUint8(this.#pos, r.kind);
    v.setUint16(this.#pos + 1, t, true);
    v.setInt32(this.#pos + 3, r.partition, true);
    v.setFloat64(this.#pos + 7, r.offset, true);
    v.setFloat64(this.#pos + 15, r.timestamp, true);
    this.#pos += 23;
    this.#bytes(r.key);
    this.#bytes(r.value);
    const entries = r.headers ? Object.entries(r.headers) : [];
    this.#ensure(2);
    this.#view.setUint16(this.#pos, entries.length, true);
    this.#pos += 2;
    for (const [k, val] of entries) {
      this.#bytes(utf8e.encode(k));
      this.#bytes(val);
    }
    this.#count++;
  }

  /** Empties the writer for the next batch, keeping its buffer (unless one batch made it large). */
  reset(): this {
    if (this.#buf.byteLength > 1024 * 1024) {
      this.#buf = new Uint8Array(64 * 1024);
      this.#view = new DataView(this.#buf.buffer);
    }
    this.#pos = 0;
    this.#count = 0;
    this.#topics.clear();
    return this;
  }

  /** Where the writer stands, to undo the records added after it. */
  mark(): { pos: number; count: number } {
    return { pos: this.#pos, count: this.#count };
  }

  rollback(m: { pos: number; count: number }): void {
    this.#pos = m.pos;
    this.#count = m.count;
  }

  /** Header (magic, topic table, count) followed by the records, in one exact-size buffer. */
  finish(): ArrayBuffer {
    const names = [...this.#topics.keys()].map((n) => utf8e.encode(n));
    const headLen = 4 + 2 + names.reduce((s, n) => s + 2 + n.byteLength, 0) + 4;
    const out = new Uint8Array(headLen + this.#pos);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setUint16(4, names.length, true);
    let p = 6;
    for (const n of names) {
      dv.setUint16(p, n.byteLength, true);
      out.set(n, p + 2);
      p += 2 + n.byteLength;
    }
    dv.setUint32(p, this.#count, true);
    p += 4;
    out.set(this.#buf.subarray(0, this.#pos), p);
    return out.buffer;
  }
}

/**
 * Reads a packed batch a record at a time, as positions in it (a length of -1: null), so a
 * caller re-encoding the records (the effects producer) makes no object per record.
 */
export class WireReader {
  readonly bytes: Uint8Array;
  readonly topics: string[] = [];
  readonly count: number;
  kind = RecordKind.Input;
  /** Index into `topics`. */
  topic = 0;
  partition = -1;
  offset = -1;
  timestamp = 0;
  keyAt = 0;
  keyLength = -1;
  valueAt = 0;
  valueLength = -1;
  headerCount = 0;
  /** Bytes the record's headers take in the packed batch. */
  headerBytes = 0;
  #headersAt = 0;
  #dv: DataView;
  #p: number;
  #read = 0;

  constructor(buffer: ArrayBuffer) {
    const u8 = (this.bytes = new Uint8Array(buffer));
    const dv = (this.#dv = new DataView(buffer));
    if (buffer.byteLength < 10 || dv.getUint32(0, true) !== MAGIC) throw new ProtocolError('record batch has a bad header');
    const nTopics = dv.getUint16(4, true);
    let p = 6;
    for (let i = 0; i < nTopics; i++) {
      const len = dv.getUint16(p, true);
      this.topics.push(utf8d.decode(u8.subarray(p + 2, p + 2 + len)));
      p += 2 + len;
    }
    this.count = dv.getUint32(p, true);
    this.#p = p + 4;
  }

  /** Moves to the next record; false after the last (then checks that nothing trails). */
  next(): boolean {
    const dv = this.#dv;
    if (this.#read === this.count) {
      if (this.#p !== this.bytes.byteLength) throw new ProtocolError(`record batch has ${this.bytes.byteLength - this.#p} trailing bytes`);
      return false;
    }
    this.#read++;
    let p = this.#p;
    this.kind = dv.getUint8(p) as RecordKind;
    this.topic = dv.getUint16(p + 1, true);
    this.partition = dv.getInt32(p + 3, true);
    this.offset = dv.getFloat64(p + 7, true);
    this.timestamp = dv.getFloat64(p + 15, true);
    p += 23;
    this.keyLength = dv.getInt32(p, true);
    this.keyAt = p + 4;
    p = this.keyAt + Math.max(0, this.keyLength);
    this.valueLength = dv.getInt32(p, true);
    this.valueAt = p + 4;
    p = this.valueAt + Math.max(0, this.valueLength);
    this.headerCount = dv.getUint16(p, true);
    p += 2;
    this.#headersAt = p;
    for (let h = 0; h < 2 * this.headerCount; h++) p += 4 + Math.max(0, dv.getInt32(p, true));
    this.headerBytes = p - this.#headersAt;
    this.#p = p;
    return true;
  }

  /** The key and value of the record in hand as views (null for -1). */
  key(): Uint8Array | null {
    return this.keyLength < 0 ? null : this.bytes.subarray(this.keyAt, this.keyAt + this.keyLength);
  }

  value(): Uint8Array | null {
    return this.valueLength < 0 ? null : this.bytes.subarray(this.valueAt, this.valueAt + this.valueLength);
  }

  /** The headers of the record in hand as (UTF-8 key, value) pairs; undefined when it has none. */
  headerPairs(): [Uint8Array, Uint8Array][] | undefined {
    if (this.headerCount === 0) return undefined;
    const out: [Uint8Array, Uint8Array][] = [];
    let p = this.#headersAt;
    const take = (): Uint8Array => {
      const len = Math.max(0, this.#dv.getInt32(p, true));
      const b = this.bytes.subarray(p + 4, p + 4 + len);
      p += 4 + len;
      return b;
    };
    for (let h = 0; h < this.headerCount; h++) out.push([take(), take()]);
    return out;
  }
}

/** Reads a packed batch; keys, values and header values are views into the buffer. */
export function readBatch(buffer: ArrayBuffer): WireRecord[] {
  const r = new WireReader(buffer);
  const out: WireRecord[] = new Array(r.count);
  for (let i = 0; r.next(); i++) {
    let headers: Headers | undefined;
    for (const [k, v] of r.headerPairs() ?? []) (headers ??= {})[utf8d.decode(k)] = v;
    out[i] = { kind: r.kind, topic: r.topics[r.topic]!, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key(), value: r.value(), headers };
  }
  return out;
}
