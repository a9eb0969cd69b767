/** Maps a key's bytes to a partition in [0, partitionCount). */
export type Hasher = (key: Uint8Array, partitionCount: number) => number;

/** Kafka's murmur2, as the Java client computes it (Utils.murmur2), as a signed 32-bit int. */
export function murmur2Hash(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = (0x9747b28c ^ len) | 0;
  const tail = len & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = len & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** FNV-1a 32-bit, the hash Goka uses for keys. Unsigned result. */
export function fnv1a32(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const hashers = {
  /** The Java client's default partitioner: toPositive(murmur2(key)) % n. */
  murmur2: ((key, n) => (murmur2Hash(key) & 0x7fffffff) % n) as Hasher,
  /** Goka's default: |int32(fnv1a(key))| % n (truncating remainder). */
  goka: ((key, n) => {
    const s = fnv1a32(key) | 0;
    const p = (s < 0 ? -s | 0 : s) % n;
    // int32 min negates to itself in Go; sarama then flips the sign of the remainder.
    return p < 0 ? -p : p;
  }) as Hasher,
} as const;
