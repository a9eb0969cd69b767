// UTF-8 for the short strings of every record (keys, small JSON values): an ASCII fast path.
// TextEncoder.encode costs about a microsecond per call for a 7-character key (measured on the
// development VM), more than the rest of a count callback; a plain loop over ASCII is ~10×
// cheaper. Anything else goes to the standard codecs, which also keep the strictness.

const encoder = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');
const SHORT = 64;

export function encodeUtf8(s: string): Uint8Array {
  const n = s.length;
  if (n > SHORT) return encoder.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Strict by default: bytes that are not UTF-8 throw (TextDecoder `fatal`); else they become U+FFFD. */
export function decodeUtf8(b: Uint8Array, fatal = true): string {
  return decodeUtf8At(b, 0, b.length, fatal);
}

/** decodeUtf8 of `b[start..end)`, without a view for the ASCII case (keys read in place from a fetch). */
export function decodeUtf8At(b: Uint8Array, start: number, end: number, fatal = true): string {
  const slow = fatal ? strict : lenient;
  if (end - start > SHORT) return slow.decode(b.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c > 0x7f) return slow.decode(b.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}
