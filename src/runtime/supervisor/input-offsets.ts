// One input partition's offsets and lag, from what the fetches, the commits and the brokers said.
import type { InputOffsets } from '../../stats.js';

/** What the brokers last said of the input partitions (see OffsetsWatch). */
export interface BrokerOffsets {
  highWatermark(topic: string, partition: number): number | undefined;
  committed(topic: string, partition: number): number | null | undefined;
}

export function maxKnown(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined) return b ?? null;
  return b === undefined ? a : Math.max(a, b);
}

/** Lag is only known against a known high-water mark; an empty partition has none to catch up. */
export function inputOffsets(highWatermark: number | null, committed: number | null, processedNext: number | undefined): InputOffsets {
  // Consumption starts at the committed offset: until a record is processed, that is the position.
  const processed = processedNext ?? committed;
  const behind = (from: number | null) => (highWatermark === null ? null : from !== null ? Math.max(0, highWatermark - from) : highWatermark === 0 ? 0 : null);
  return { highWatermark, committed, processed, lag: behind(committed), pending: behind(processed) };
}

