/**
 * `buf` when `used + need` bytes fit in it; otherwise a buffer of twice the size (or more) holding
 * its first `used` bytes. Growing by doubling keeps appends amortised O(1).
 */
export function grown(buf: Uint8Array, used: number, need: number): Uint8Array {
  if (used + need <= buf.byteLength) return buf;
  let size = Math.max(buf.byteLength * 2, 64);
  while (size < used + need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, used));
  return next;
}
