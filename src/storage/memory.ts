import { keyString, type PartitionStore, type StoreKey } from './storage.js';

/** Keeps a partition in a Map: for tests, the tester and throwaway state. */
export class MemoryStore implements PartitionStore {
  #data = new Map<string, Uint8Array>();
  #checkpoint: number | null = null;

  get(key: string): Uint8Array | undefined {
    return this.#data.get(key);
  }
  checkpoint(): number | null {
    return this.#checkpoint;
  }
  async apply(writes: Iterable<readonly [StoreKey, Uint8Array | null]>, checkpoint: number): Promise<void> {
    for (const [k, v] of writes) {
      if (v === null) this.#data.delete(keyString(k));
      else this.#data.set(keyString(k), v);
    }
    this.#checkpoint = checkpoint;
  }
  async clear(): Promise<void> {
    this.#data.clear();
    this.#checkpoint = null;
  }
  *entries(range: { start?: string; end?: string } = {}): Iterable<[string, Uint8Array]> {
    const keys = [...this.#data.keys()].sort();
    for (const k of keys) {
      if (range.start !== undefined && k < range.start) continue;
      if (range.end !== undefined && k >= range.end) break;
      yield [k, this.#data.get(k)!];
    }
  }
  count(): number {
    return this.#data.size;
  }
  async close(): Promise<void> {}
}
