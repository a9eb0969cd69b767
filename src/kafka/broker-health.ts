// Whether a client's broker is reachable, shared by every port of one client. An outage starts
// at the first failed call after a success and ends at the next success; calls retry inside it
// until it has lasted `brokerOutageMs` (or, before the first success ever, `connectTimeoutMs`
// since the client was created), then fail with BrokerUnavailableError. One log line when an
// outage starts and one when it ends, whatever the number of failing calls in between.
import { BrokerUnavailableError, StoppedError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface HealthOptions {
  brokers: readonly string[];
  brokerOutageMs: number;
  connectTimeoutMs: number;
  logger: Logger;
  now?: () => number;
}

const BACKOFF_MIN_MS = 100;
const QUIET_MS = 1000;
const MIN_ATTEMPT_MS = 3000;
const BACKOFF_MAX_MS = 2000;

export class BrokerHealth {
  readonly brokers: readonly string[];
  readonly #o: HealthOptions;
  readonly #now: () => number;
  readonly #createdAt: number;
  #everConnected = false;
  #downSince: number | undefined;
  #lastError: unknown;
  #warned = false;

  constructor(options: HealthOptions) {
    this.#o = options;
    this.brokers = options.brokers;
    this.#now = options.now ?? Date.now;
    this.#createdAt = this.#now();
  }

  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** A call reached the broker. */
  ok(): void {
    if (this.#warned) {
      this.#o.logger.info({ brokers: this.brokers, downMs: this.#now() - this.#downSince! }, 'Kafka is answering again');
      this.#warned = false;
    }
    this.#downSince = undefined;
    this.#everConnected = true;
  }

  /** Time left before the current outage (or the first connection) exceeds its bound. */
  remainingMs(): number {
    if (!this.#everConnected) return this.#createdAt + this.#o.connectTimeoutMs - this.#now();
    if (this.#downSince === undefined) return this.#o.brokerOutageMs;
    return this.#downSince + this.#o.brokerOutageMs - this.#now();
  }

  /**
   * A call failed with a retriable error. Throws BrokerUnavailableError once the bound is
   * exceeded; otherwise records the outage and returns.
   */
  failed(operation: string, err: unknown): void {
    this.#lastError = err;
    this.#downSince ??= this.#now();
    // A blip (a coordinator loading, a leader moving) is retried quietly; an outage gets one line.
    if (this.#everConnected && !this.#warned && this.#now() - this.#downSince >= QUIET_MS) {
      this.#warned = true;
      this.#o.logger.warn({ brokers: this.brokers, operation, err: describe(err), retryForMs: this.#o.brokerOutageMs },
        'Kafka is not answering; retrying');
    }
    if (this.remainingMs() <= 0) throw this.unavailable(operation);
  }

  unavailable(operation: string): BrokerUnavailableError {
    const waitedMs = this.#everConnected ? this.#now() - (this.#downSince ?? this.#now()) : this.#now() - this.#createdAt;
    return new BrokerUnavailableError([...this.brokers], operation, waitedMs, !this.#everConnected, { cause: this.#lastError });
  }

  /**
   * Runs `op` until it succeeds, retrying retriable failures with backoff inside the bound.
   * Each attempt is also cut at the bound, so a hanging connect cannot outlast it. `closed()`
   * is asked between attempts: a client that is closing stops retrying.
   */
  async call<T>(operation: string, op: () => Promise<T>, opts: { retriable(err: unknown): boolean; closed?(): boolean }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (opts.closed?.()) throw new StoppedError(`${operation}: the client is closed`);
      try {
        // Every call gets one real attempt, also when an outage already used up the bound: a
        // view that reconnects after the bound must be able to notice that the broker is back.
        // One ms more than what is left: a timer may fire when Date.now() still reads 1 ms short
        // of it, and the error would then say the outage lasted less than its bound.
        const value = await raceDeadline(op(), this.remainingMs() > 0 ? this.remainingMs() + 1 : MIN_ATTEMPT_MS, () => this.unavailable(operation));
        this.ok();
        return value;
      } catch (err) {
        if (err instanceof BrokerUnavailableError || !opts.retriable(err)) throw err;
        this.failed(operation, err);
      }
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      await delay(Math.min(backoff, Math.max(0, this.remainingMs())));
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with `onTimeout()` after `ms`; the losing promise's later rejection is swallowed. */
export async function raceDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  p.catch(() => undefined);
  if (ms <= 0) throw onTimeout();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
