// The last record of each key among records still in their fetched bytes, found on the key
// bytes: a changelog read before compaction holds several generations of a key, and a string
// and a Map entry per record were most of what applying such a chunk cost. Only each distinct
// key becomes a string, once, at the end.
import { decodeUtf8At } from '../codec/utf8.js';

const EMPTY = -1;

export class LastByKey {
  readonly #bytes: Uint8Array;
  /** Open addressing: slot → entry index + 1 (0: free). */
  #slots: Int32Array;
  #hashes = new Int32Array(256);
  #keyAt = new Int32Array(256);
  #keyLength = new Int32Array(256);
  #valueAt = new Int32Array(256);
  #valueLength = new Int32Array(256);
  /** Order of each entry's last record, so that keys whose bytes differ but decode alike keep the later one. */
  #seq = new Int32Array(256);
  #entries = 0;
  #records = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#slots = new Int32Array(512);
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
        this.#valueAt[e] = valueAt;
        this.#valueLength[e] = valueLength;
        this.#seq[e] = this.#records++;
        return;
      }
    }
  }

  /** Key → the last value (null: a tombstone), in key order (LMDB inserts sorted keys faster). */
  writes(): Map<string, Uint8Array | null> {
    const byKey = new Map<string, number>();
    for (let e = 0; e < this.#entries; e++) {
      const key = decodeUtf8At(this.#bytes, this.#keyAt[e]!, this.#keyAt[e]! + this.#keyLength[e]!, false);
      const prev = byKey.get(key);
      if (prev === undefined || this.#seq[prev]! < this.#seq[e]!) byKey.set(key, e);
    }
    const out = new Map<string, Uint8Array | null>();
    for (const key of [...byKey.keys()].sort()) {
      const e = byKey.get(key)!;
      const at = this.#valueAt[e]!;
      const n = this.#valueLength[e]!;
      out.set(key, n < 0 ? null : this.#bytes.subarray(at, at + n));
    }
    return out;
  }

  #sameKey(e: number, keyAt: number, n: number): boolean {
    if (this.#keyLength[e] !== n) return false;
    const b = this.#bytes;
    const other = this.#keyAt[e]!;
    for (let i = 0; i < n; i++) if (b[keyAt + i] !== b[other + i]) return false;
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
