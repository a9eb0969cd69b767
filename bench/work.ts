// Fixed CPU work per message: an FNV-style integer hash loop. The result goes to a module-level
// sink so the JIT cannot drop the loop.
export let sink = 0;

export function burn(iters: number): void {
  let h = 0x811c9dc5 ^ sink;
  for (let i = 0; i < iters; i++) {
    h ^= i & 0xff;
    h = Math.imul(h, 16777619);
  }
  sink = h;
}
