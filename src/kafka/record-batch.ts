// Kafka's record batch format (magic 2), encoded in one pass into one buffer: what a produce
// request carries per partition. kafkajs builds the same bytes through per-record objects,
// closures, array spreads and a string sort of the timestamps; for small records that was a
// third of the main thread's time.
import { grown } from '../codec/grow.js';
import type { OutRecord } from './ports.js';

const CASTAGNOLI = 0x82f63b78;

/**
 * Slicing-by-8 tables: T[0] is the byte table, T[k][n] the CRC of n followed by k zero bytes.
 * Int32Array, not Uint32Array: a table entry above 2^31 read from a Uint32Array is no int32,
 * and V8's optimized code then deopts ("lost precision") on about every other call.
 */
function crcTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CASTAGNOLI ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(t);
  }
  return tables;
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = crcTables() as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];

/** CRC-32C of bytes [start, end) as a signed 32-bit int (the bits the batch header carries). */
function crc32cBits(bytes: Uint8Array, start: number, end: number): number {
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc = T7[a & 0xff]! ^ T6[(a >>> 8) & 0xff]! ^ T5[(a >>> 16) & 0xff]! ^ T4[a >>> 24]!
      ^ T3[bytes[i + 4]!]! ^ T2[bytes[i + 5]!]! ^ T1[bytes[i + 6]!]! ^ T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc ^ -1;
}

/** CRC-32C (Castagnoli), as the record batch header carries it. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cBits(bytes, start, end) >>> 0;
}

const utf8 = new TextEncoder();
/** Bytes of a record batch's header, before its records. */
const BATCH_HEADER = 61;

/** Bytes of a zigzag varint (Kafka's varint and varlong; exact up to 2^53). */
function varintSize(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a zigzag varint at `pos` of `buf`; returns the position after it. */
function putVarint(buf: Uint8Array, pos: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 128;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/** Copies `length` bytes of `src` from `at` to `pos` of `buf`; short ones byte by byte (no view object). */
function putBytes(buf: Uint8Array, pos: number, src: Uint8Array, at: number, length: number): number {
  if (length < 32) for (let i = 0; i < length; i++) buf[pos + i] = src[at + i]!;
  else buf.set(src.subarray(at, at + length), pos);
  return pos + length;
}

/** Header keys (UTF-8) and values of one record, as a record batch carries them. */
export type HeaderPairs = readonly (readonly [Uint8Array, Uint8Array])[];

export const headerPairs = (headers: Record<string, Uint8Array>): HeaderPairs => Object.entries(headers).map(([k, v]) => [utf8.encode(k), v] as const);

/**
 * Builds one record batch (no compression, CreateTime, not transactional, no producer id), a
 * record at a time, as the bytes a produce request carries for one partition. Keys and values
 * are copied from wherever they lie (`src` at `at`; a length of -1: null), so a caller reading
 * packed records makes no object per record.
 */
export class RecordBatchBuilder {
  #buf: Uint8Array;
  #pos = BATCH_HEADER;
  #count = 0;
  #base = 0;
  #max = 0;

  constructor(initialBytes = 1024) {
    this.#buf = new Uint8Array(Math.max(initialBytes, 256));
  }

  get count(): number {
    return this.#count;
  }

  get byteLength(): number {
    return this.#pos;
  }

  add(
    timestamp: number,
    keySrc: Uint8Array | null, keyAt: number, keyLength: number,
    valueSrc: Uint8Array | null, valueAt: number, valueLength: number,
    headers?: HeaderPairs,
  ): void {
    if (this.#count === 0) this.#base = this.#max = timestamp;
    else if (timestamp > this.#max) this.#max = timestamp;
    const tsDelta = timestamp - this.#base;
    let body = 1 + varintSize(tsDelta) + varintSize(this.#count);
    body += keyLength < 0 ? 1 : varintSize(keyLength) + keyLength;
    body += valueLength < 0 ? 1 : varintSize(valueLength) + valueLength;
    body += varintSize(headers?.length ?? 0);
    if (headers) for (const [k, v] of headers) body += varintSize(k.byteLength) + k.byteLength + varintSize(v.byteLength) + v.byteLength;
    this.#buf = grown(this.#buf, this.#pos, 5 + body); // a body length's varint takes at most 5 bytes
    const buf = this.#buf;
    let pos = putVarint(buf, this.#pos, body);
    buf[pos++] = 0; // record attributes
    pos = putVarint(buf, pos, tsDelta);
    pos = putVarint(buf, pos, this.#count);
    pos = putVarint(buf, pos, keyLength);
    if (keyLength > 0) pos = putBytes(buf, pos, keySrc!, keyAt, keyLength);
    pos = putVarint(buf, pos, valueLength);
    if (valueLength > 0) pos = putBytes(buf, pos, valueSrc!, valueAt, valueLength);
    pos = putVarint(buf, pos, headers?.length ?? 0);
    if (headers) {
      for (const [k, v] of headers) {
        pos = putBytes(buf, putVarint(buf, pos, k.byteLength), k, 0, k.byteLength);
        pos = putBytes(buf, putVarint(buf, pos, v.byteLength), v, 0, v.byteLength);
      }
    }
    this.#pos = pos;
    this.#count++;
  }

  /** The batch: header, CRC and records (a view of the builder's buffer). */
  finish(now = Date.now()): Uint8Array {
    const total = this.#pos;
    const n = this.#count;
    const base = n === 0 ? now : this.#base;
    const v = new DataView(this.#buf.buffer, 0, total);
    v.setBigInt64(0, 0n); // base offset: the broker assigns offsets
    v.setInt32(8, total - 12); // batch length: everything after this field
    v.setInt32(12, -1); // partition leader epoch: none (set by the broker)
    v.setInt8(16, 2); // magic
    // 17..20: CRC, below
    v.setInt16(21, 0); // attributes
    v.setInt32(23, n - 1); // last offset delta
    v.setBigInt64(27, BigInt(base));
    v.setBigInt64(35, BigInt(n === 0 ? now : this.#max));
    v.setBigInt64(43, -1n); // producer id
    v.setInt16(51, -1); // producer epoch
    v.setInt32(53, -1); // base sequence
    v.setInt32(57, n);
    v.setInt32(17, crc32cBits(this.#buf, 21, total));
    return this.#buf.subarray(0, total);
  }
}

/** One record batch holding `records` in order (see RecordBatchBuilder). */
export function encodeRecordBatch(records: readonly OutRecord[], now = Date.now()): Uint8Array {
  let size = BATCH_HEADER;
  for (const r of records) size += 24 + (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  const b = new RecordBatchBuilder(size);
  for (const r of records) {
    b.add(r.timestamp ?? now, r.key, 0, r.key ? r.key.byteLength : -1, r.value, 0, r.value ? r.value.byteLength : -1, r.headers ? headerPairs(r.headers) : undefined);
  }
  return b.finish(now);
}

// ---- reading ------------------------------------------------------------------------------
// Record batches as a fetch response carries them, read in place: keys and values are views
// into the fetched bytes. kafkajs decodes every record into objects with a Long offset, a Long
// timestamp and Buffer copies; for changelog recovery that was most of the main thread.

const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
const utf8d = new TextDecoder();

/** A record as decoded from a batch: key and value are views into the batch bytes. */
export interface BatchRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Record<string, Uint8Array> | undefined;
}

/** What the batches of one fetched partition hold, read from their headers. */
export interface BatchesSummary {
  /** Data records with offsets in [from, to). */
  count: number;
  /** Offset of the last of those records; -1 when there is none. */
  last: number;
  /** Offset after the last complete batch (where the next read starts); -1: no complete batch. */
  end: number;
  /** False when a batch is compressed or older than magic 2: decodeRecordBatches cannot read it. */
  plain: boolean;
}

class Cursor {
  pos: number;
  constructor(readonly buf: Uint8Array, pos: number) {
    this.pos = pos;
  }
  /** A zigzag varint or varlong (exact up to 2^53). */
  varint(): number {
    let b = this.buf[this.pos++]!;
    if (b < 128) return (b >>> 1) ^ -(b & 1);
    let z = b & 127;
    let mul = 128;
    do {
      b = this.buf[this.pos++]!;
      z += (b & 127) * mul;
      mul *= 128;
    } while (b >= 128);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  bytes(): Uint8Array | null {
    const n = this.varint();
    if (n < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

const int64 = (v: DataView, at: number): number => v.getInt32(at) * 4294967296 + v.getUint32(at + 4);

/**
 * End (in bytes) of the complete batch starting at `at`, or -1 when none starts there: a fetch
 * may end in a partial batch (cut at the size limit), which the next fetch reads.
 */
function batchEnd(v: DataView, at: number): number {
  if (at + BATCH_HEADER > v.byteLength) return -1;
  const stop = at + 12 + v.getInt32(at + 8);
  return stop > v.byteLength ? -1 : stop;
}

/** Calls `each` for every complete batch: its start, base offset, attributes and end (in bytes). */
function forEachBatch(bytes: Uint8Array, each: (at: number, base: number, attributes: number, magic: number, stop: number) => void): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0, stop = batchEnd(v, 0); stop >= 0; at = stop, stop = batchEnd(v, at)) {
    each(at, int64(v, at), v.getInt16(at + 21), v.getInt8(at + 16), stop);
  }
}

/** The offsets of the records of one batch (magic 2, uncompressed), in order. */
function forEachOffset(bytes: Uint8Array, at: number, base: number, each: (offset: number) => void): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getInt32(at + 57);
  const c = new Cursor(bytes, at + BATCH_HEADER);
  for (let i = 0; i < n; i++) {
    const length = c.varint();
    const next = c.pos + length;
    c.pos++; // attributes
    c.varint(); // timestamp delta
    each(base + c.varint());
    c.pos = next;
  }
}

/** Counts and bounds of the data records in [from, to), from the batch headers where it can. */
export function summarizeBatches(bytes: Uint8Array, from: number, to: number): BatchesSummary {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BatchesSummary = { count: 0, last: -1, end: -1, plain: true };
  forEachBatch(bytes, (at, base, attributes, magic) => {
    if (magic !== 2 || (attributes & COMPRESSION_MASK) !== 0) {
      out.plain = false;
      return;
    }
    const lastInBatch = base + v.getInt32(at + 23);
    out.end = lastInBatch + 1;
    if (attributes & CONTROL || lastInBatch < from || base >= to) return;
    if (base >= from && lastInBatch < to) {
      // The whole batch is in range; its last record may have been compacted away, so the
      // last offset comes from the records when the header's delta is not the last record's.
      const n = v.getInt32(at + 57);
      if (n === 0) return;
      out.count += n;
      if (n === v.getInt32(at + 23) + 1) out.last = lastInBatch;
      else forEachOffset(bytes, at, base, (o) => (out.last = o));
      return;
    }
    forEachOffset(bytes, at, base, (o) => {
      if (o < from || o >= to) return;
      out.count++;
      out.last = o;
    });
  });
  return out;
}

/**
 * Reads the data records with offsets in [from, to) of plain batches (see summarizeBatches), one
 * at a time and in order, as positions in `bytes` (a length of -1: null). A caller that keeps only
 * some records allocates nothing for the others, and one that reads as it goes (an actor's input
 * queue) keeps only the record in hand alive: records decoded ahead of time would outlive young
 * GC generations and make every scavenge copy them. `headersAt` is where the header count starts.
 */
export class RecordReader {
  offset = 0;
  timestamp = 0;
  keyAt = 0;
  keyLength = -1;
  valueAt = 0;
  valueLength = -1;
  headersAt = 0;
  readonly #v: DataView;
  readonly #from: number;
  readonly #to: number;
  readonly #c: Cursor;
  /** End of the current batch (in bytes); the next batch starts there. */
  #stop = 0;
  /** Records of the current batch not read yet. */
  #left = 0;
  #base = 0;
  #baseTimestamp = 0;
  #appendTime = -1;

  constructor(bytes: Uint8Array, from: number, to: number) {
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#from = from;
    this.#to = to;
    this.#c = new Cursor(bytes, 0);
  }

  /** Moves to the next record in range; false when there is none. */
  next(): boolean {
    const c = this.#c;
    for (;;) {
      while (this.#left > 0 && c.pos < this.#stop) {
        this.#left--;
        const length = c.varint();
        const next = c.pos + length;
        c.pos++; // record attributes: unused
        const timestamp = this.#baseTimestamp + c.varint();
        const offset = this.#base + c.varint();
        if (offset >= this.#from && offset < this.#to) {
          this.offset = offset;
          this.timestamp = this.#appendTime >= 0 ? this.#appendTime : timestamp;
          this.keyLength = c.varint();
          this.keyAt = c.pos;
          if (this.keyLength > 0) c.pos += this.keyLength;
          this.valueLength = c.varint();
          this.valueAt = c.pos;
          if (this.valueLength > 0) c.pos += this.valueLength;
          this.headersAt = c.pos;
          c.pos = next;
          return true;
        }
        c.pos = next;
      }
      if (!this.#nextBatch()) return false;
    }
  }

  #nextBatch(): boolean {
    const v = this.#v;
    for (;;) {
      const at = this.#stop;
      const stop = batchEnd(v, at);
      if (stop < 0) return false;
      this.#stop = stop;
      const attributes = v.getInt16(at + 21);
      if (v.getInt8(at + 16) !== 2 || (attributes & COMPRESSION_MASK) !== 0) throw new Error('a compressed or pre-2 record batch reached RecordReader');
      const base = int64(v, at);
      if (attributes & CONTROL || base + v.getInt32(at + 23) < this.#from || base >= this.#to) continue;
      this.#base = base;
      this.#left = v.getInt32(at + 57);
      this.#baseTimestamp = int64(v, at + 27);
      this.#appendTime = attributes & LOG_APPEND_TIME ? int64(v, at + 35) : -1;
      this.#c.pos = at + BATCH_HEADER;
      return true;
    }
  }
}

/** Calls `each` for every record RecordReader reads, with its positions. */
export function forEachRecord(
  bytes: Uint8Array, from: number, to: number,
  each: (offset: number, timestamp: number, keyAt: number, keyLength: number, valueAt: number, valueLength: number, headersAt: number) => void,
): void {
  const r = new RecordReader(bytes, from, to);
  while (r.next()) each(r.offset, r.timestamp, r.keyAt, r.keyLength, r.valueAt, r.valueLength, r.headersAt);
}

/** The headers of a record visited by forEachRecord (`headersAt`); the last of duplicate keys wins, as with kafkajs. */
export function recordHeaders(bytes: Uint8Array, headersAt: number): Record<string, Uint8Array> | undefined {
  if (bytes[headersAt] === 0) return undefined; // the common case: a varint 0
  const c = new Cursor(bytes, headersAt);
  const n = c.varint();
  let headers: Record<string, Uint8Array> | undefined;
  for (let h = 0; h < n; h++) {
    const k = c.bytes();
    const v = c.bytes();
    if (k !== null && v !== null) (headers ??= {})[utf8d.decode(k)] = v;
  }
  return headers;
}

/** A view of `length` bytes at `at` (-1: null), as forEachRecord gives keys and values. */
export const bytesAt = (bytes: Uint8Array, at: number, length: number): Uint8Array | null => (length < 0 ? null : bytes.subarray(at, at + length));

/** The data records with offsets in [from, to) of plain batches, decoded (views into `bytes`). */
export function decodeRecordBatches(bytes: Uint8Array, from: number, to: number): BatchRecord[] {
  const out: BatchRecord[] = [];
  forEachRecord(bytes, from, to, (offset, timestamp, keyAt, keyLength, valueAt, valueLength, headersAt) => {
    out.push({ offset, timestamp, key: bytesAt(bytes, keyAt, keyLength), value: bytesAt(bytes, valueAt, valueLength), headers: recordHeaders(bytes, headersAt) });
  });
  return out;
}
