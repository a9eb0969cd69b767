// The last record of each key among records still in their fetched bytes, found on the key
// bytes: a changelog read before compaction holds several generations of a key, and a string
// and a Map entry per record were most of what applying such a chunk cost. At the end a
// printable key is handed on as its bytes; any other distinct key becomes a string, once. The
// records may come from several fetched buffers (`feed`), so that consecutive chunks of one
// restore are deduplicated together: each chunk holds most of a partition's keys again.
import { decodeUtf8At } from '../codec/utf8.js';
import { isPrintable, type StoreKey } from '../storage/storage.js';

const EMPTY = -1;

export class LastByKey {
  /** The buffers fed so far; records are added from the last. */
  readonly #buffers: Uint8Array[] = [];
  #bytes: Uint8Array;
  /** Open addressing: slot → entry index + 1 (0: free). */
  #slots: Int32Array;
  #hashes: Int32Array;
  #keyAt: Int32Array;
  #keyLength: Int32Array;
  #valueAt: Int32Array;
  #valueLength: Int32Array;
  /** Order of each entry's last record, so that keys whose bytes differ but decode alike keep the later one. */
  #seq: Int32Array;
  /** Each entry's buffer (an index into #buffers). */
  #buf: Int32Array;
  #entries = 0;
  #records = 0;

  /**
   * `records`: at most how many records will be added. The table starts at a quarter of that (a
   * changelog read before compaction repeats keys) rather than growing to it from 256 entries.
   */
  constructor(bytes: Uint8Array, records = 1024) {
    this.#bytes = bytes;
    this.#buffers.push(bytes);
    const n = Math.max(256, Math.min(1 << 20, 2 ** Math.ceil(Math.log2(records / 4))));
    this.#slots = new Int32Array(2 * n);
    this.#hashes = new Int32Array(n);
    this.#keyAt = new Int32Array(n);
    this.#keyLength = new Int32Array(n);
    this.#valueAt = new Int32Array(n);
    this.#valueLength = new Int32Array(n);
    this.#seq = new Int32Array(n);
    this.#buf = new Int32Array(n);
  }

  /** The buffer the next records are added from (their positions are in it). */
  feed(bytes: Uint8Array): void {
    if (bytes === this.#bytes) return;
    this.#bytes = bytes;
    this.#buffers.push(bytes);
  }

  /** A record: its key (a length of -1, null, is the empty key) and its value (-1: null). */
  add(keyAt: number, keyLength: number, valueAt: number, valueLength: number): void {
    const b = this.#bytes;
    const kl = keyLength < 0 ? 0 : keyLength;
    let h = 0x811c9dc5;
    for (let i = keyAt; i < keyAt + kl; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const mask = this.#slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.#slots[s]! - 1;
      if (e === EMPTY) {
        this.#append(s, h, keyAt, kl, valueAt, valueLength);
        return;
      }
      if (this.#hashes[e] === h && this.#sameKey(e, keyAt, kl)) {
        // Key and value move to the later record (equal key bytes), so both are in one buffer.
        this.#keyAt[e] = keyAt;
        this.#buf[e] = this.#buffers.length - 1;
        this.#valueAt[e] = valueAt;
        this.#valueLength[e] = valueLength;
        this.#seq[e] = this.#records++;
        return;
      }
    }
  }

  /**
   * Key → the last value (null: a tombstone), in key order (LMDB inserts sorted keys faster).
   * A key of printable ASCII comes as its bytes, a view of the fetch (see StoreKey): its bytes are
   * its string, so neither decoding nor a Map of strings is needed to order and dedupe it; sorting
   * indices by bytes gives the order the store keeps them in. Any other key is decoded, and keys
   * whose bytes differ but decode alike (invalid UTF-8) keep the later record.
   */
  writes(): Iterable<[StoreKey, Uint8Array | null]> {
    const buffers = this.#buffers;
    const buf = this.#buf;
    const keyAt = this.#keyAt;
    const keyLength = this.#keyLength;
    const plain: number[] = [];
    const decoded = new Map<string, number>();
    for (let e = 0; e < this.#entries; e++) {
      const b = buffers[buf[e]!]!;
      const at = keyAt[e]!;
      const end = at + keyLength[e]!;
      if (isPrintable(b, at, end)) {
        plain.push(e);
        continue;
      }
      const key = decodeUtf8At(b, at, end, false);
      const prev = decoded.get(key);
      if (prev === undefined || this.#seq[prev]! < this.#seq[e]!) decoded.set(key, e);
    }
    plain.sort((x, y) => compareBytes(buffers[buf[x]!]!, keyAt[x]!, keyLength[x]!, buffers[buf[y]!]!, keyAt[y]!, keyLength[y]!));
    // Made as the store takes them: tens of thousands of views held until the last was written
    // would outlive the young generation, and promoting them cost more than making them.
    const pairs = function* (this: LastByKey): Generator<[StoreKey, Uint8Array | null]> {
      for (const key of [...decoded.keys()].sort()) yield [key, this.#value(decoded.get(key)!)];
      for (const e of plain) yield [buffers[buf[e]!]!.subarray(keyAt[e]!, keyAt[e]! + keyLength[e]!), this.#value(e)];
    };
    return pairs.call(this);
  }

  #value(e: number): Uint8Array | null {
    const n = this.#valueLength[e]!;
    return n < 0 ? null : this.#buffers[this.#buf[e]!]!.subarray(this.#valueAt[e]!, this.#valueAt[e]! + n);
  }

  #sameKey(e: number, keyAt: number, n: number): boolean {
    if (this.#keyLength[e] !== n) return false;
    const b = this.#bytes;
    const o = this.#buffers[this.#buf[e]!]!;
    const other = this.#keyAt[e]!;
    for (let i = 0; i < n; i++) if (b[keyAt + i] !== o[other + i]) return false;
    return true;
  }

  #append(slot: number, h: number, keyAt: number, keyLength: number, valueAt: number, valueLength: number): void {
    const e = this.#entries++;
    if (e === this.#hashes.length) this.#growEntries();
    this.#hashes[e] = h;
    this.#keyAt[e] = keyAt;
    this.#keyLength[e] = keyLength;
    this.#valueAt[e] = valueAt;
    this.#valueLength[e] = valueLength;
    this.#seq[e] = this.#records++;
    this.#buf[e] = this.#buffers.length - 1;
    this.#slots[slot] = e + 1;
    // Keep the table at most half full.
    if (this.#entries * 2 > this.#slots.length) this.#rehash();
  }

  #growEntries(): void {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.#hashes = grow(this.#hashes);
    this.#keyAt = grow(this.#keyAt);
    this.#keyLength = grow(this.#keyLength);
    this.#valueAt = grow(this.#valueAt);
    this.#valueLength = grow(this.#valueLength);
    this.#seq = grow(this.#seq);
    this.#buf = grow(this.#buf);
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.#entries; e++) {
      let s = this.#hashes[e]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.#slots = slots;
  }
}

function compareBytes(a: Uint8Array, x: number, xn: number, b: Uint8Array, y: number, yn: number): number {
  const n = xn < yn ? xn : yn;
  for (let i = 0; i < n; i++) {
    const d = a[x + i]! - b[y + i]!;
    if (d !== 0) return d;
  }
  return xn - yn;
}
