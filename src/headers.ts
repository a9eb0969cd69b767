/** Record headers as partita passes them on: bytes per key (the last of duplicate keys wins). */
export type Headers = Record<string, Uint8Array>;

/** Headers as users give them: strings are UTF-8 encoded. */
export type HeadersInit = Record<string, string | Uint8Array>;

const utf8 = new TextEncoder();

/** Normalises and merges header sets; later sets win per key (Goka: defaults ⊕ per-call). */
export function mergeHeaders(...sets: (HeadersInit | undefined)[]): Headers | undefined {
  let out: Headers | undefined;
  for (const set of sets) {
    if (!set) continue;
    for (const [k, v] of Object.entries(set)) {
      out ??= {};
      out[k] = typeof v === 'string' ? utf8.encode(v) : v;
    }
  }
  return out;
}
