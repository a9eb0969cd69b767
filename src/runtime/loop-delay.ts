// Event-loop delay of the current thread, summarised over fixed windows: what a slow
// synchronous callback costs every other actor (and, in the main thread, the consumer) there.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const LOOP_DELAY_WINDOW_MS = 1000;

export interface LoopDelayStats {
  /** Milliseconds, over the last window. */
  p50: number;
  p99: number;
  max: number;
}

export class LoopDelay {
  readonly #h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  #timer: NodeJS.Timeout | undefined;
  #latest: LoopDelayStats | null = null;

  /** Samples every `windowMs`; `onWindow` gets each window's summary. */
  start(windowMs: number, onWindow?: (s: LoopDelayStats) => void): void {
    this.#h.enable();
    this.#timer = setInterval(() => {
      const ms = (ns: number) => Math.round(ns / 1e4) / 100;
      this.#latest = { p50: ms(this.#h.percentile(50)), p99: ms(this.#h.percentile(99)), max: ms(this.#h.max) };
      this.#h.reset();
      onWindow?.(this.#latest);
    }, windowMs);
    this.#timer.unref();
  }

  get latest(): LoopDelayStats | null {
    return this.#latest;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#h.disable();
  }
}
