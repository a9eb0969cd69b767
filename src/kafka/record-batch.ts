// Kafka's record batch format (magic 2), encoded in one pass into one buffer: what a produce
// request carries per partition. kafkajs builds the same bytes through per-record objects,
// closures, array spreads and a string sort of the timestamps; for small records that was a
// third of the main thread's time.
import type { OutRecord } from './ports.js';

const CASTAGNOLI = 0x82f63b78;

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CASTAGNOLI ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
const CRC_TABLE = crcTable();

/** CRC-32C (Castagnoli), as the record batch header carries it. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const utf8 = new TextEncoder();

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

class Writer {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  varint(n: number): void {
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    while (z >= 128) {
      this.buf[this.pos++] = (z % 128) | 128;
      z = Math.floor(z / 128);
    }
    this.buf[this.pos++] = z;
  }
  bytes(b: Uint8Array | null): void {
    if (b === null) return this.varint(-1);
    this.varint(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

interface Sized {
  /** Size of the record body (after its length varint). */
  body: number;
  /** Header keys (encoded) and values, read once for sizing and writing. */
  headers: [Uint8Array, Uint8Array][] | undefined;
}

/**
 * One record batch (no compression, CreateTime, not transactional, no producer id) holding
 * `records` in order, as the bytes a produce request carries for one partition.
 */
export function encodeRecordBatch(records: readonly OutRecord[], now = Date.now()): Uint8Array {
  const n = records.length;
  let baseTimestamp = records[0]?.timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  const sized: Sized[] = new Array(n);
  let total = 61; // the batch header
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (i === 0) baseTimestamp = maxTimestamp = ts;
    else if (ts > maxTimestamp) maxTimestamp = ts;
    let body = 1 + varintSize(ts - baseTimestamp) + varintSize(i);
    body += r.key === null ? 1 : varintSize(r.key.byteLength) + r.key.byteLength;
    body += r.value === null ? 1 : varintSize(r.value.byteLength) + r.value.byteLength;
    let headers: [Uint8Array, Uint8Array][] | undefined;
    if (r.headers) {
      headers = Object.entries(r.headers).map(([k, v]): [Uint8Array, Uint8Array] => [utf8.encode(k), v]);
      for (const [k, v] of headers) body += varintSize(k.byteLength) + k.byteLength + varintSize(v.byteLength) + v.byteLength;
    }
    body += varintSize(headers?.length ?? 0);
    sized[i] = { body, headers };
    total += varintSize(body) + body;
  }
  const w = new Writer(total);
  const v = w.view;
  v.setBigInt64(0, 0n); // base offset: the broker assigns offsets
  v.setInt32(8, total - 12); // batch length: everything after this field
  v.setInt32(12, -1); // partition leader epoch: none (set by the broker)
  v.setInt8(16, 2); // magic
  // 17..20: CRC, below
  v.setInt16(21, 0); // attributes
  v.setInt32(23, n - 1); // last offset delta
  v.setBigInt64(27, BigInt(baseTimestamp));
  v.setBigInt64(35, BigInt(maxTimestamp));
  v.setBigInt64(43, -1n); // producer id
  v.setInt16(51, -1); // producer epoch
  v.setInt32(53, -1); // base sequence
  v.setInt32(57, n);
  w.pos = 61;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const s = sized[i]!;
    w.varint(s.body);
    w.buf[w.pos++] = 0; // record attributes
    w.varint((r.timestamp ?? now) - baseTimestamp);
    w.varint(i);
    w.bytes(r.key);
    w.bytes(r.value);
    w.varint(s.headers?.length ?? 0);
    for (const [k, v] of s.headers ?? []) {
      w.bytes(k);
      w.bytes(v);
    }
  }
  v.setUint32(17, crc32c(w.buf, 21, total));
  return w.buf;
}
