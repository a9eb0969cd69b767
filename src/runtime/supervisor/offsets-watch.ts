// The high-water marks and the group's committed offsets of the input topics, read from the
// brokers on an interval. Fetched batches carry a high-water mark only for partitions that have
// new records, so without this an idle partition's lag would never be known, and a partition
// whose commits came before this instance joined would show none.
import type { AdminPort } from '../../kafka/ports.js';
import type { Logger } from '../../logger.js';

export class OffsetsWatch {
  readonly #admin: AdminPort;
  readonly #group: string;
  readonly #topics: readonly string[];
  readonly #log: Logger;
  readonly #high = new Map<string, number[]>();
  readonly #committed = new Map<string, (number | null)[]>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #closed = false;

  constructor(admin: AdminPort, group: string, topics: readonly string[], log: Logger) {
    this.#admin = admin;
    this.#group = group;
    this.#topics = topics;
    this.#log = log;
  }

  /**
   * Reads now, then every `intervalMs`; a read still in flight (a broker outage) skips a turn.
   * Resolves when the first read is done (it never rejects: a failed read leaves the offsets unknown).
   */
  start(intervalMs: number): Promise<void> {
    const first = this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
    return first;
  }

  async refresh(): Promise<void> {
    if (this.#inFlight || this.#closed) return;
    this.#inFlight = true;
    try {
      for (const t of this.#topics) {
        const [high, committed] = await Promise.all([this.#admin.endOffsets(t), this.#admin.committedOffsets(this.#group, t)]);
        this.#high.set(t, high);
        this.#committed.set(t, committed);
      }
    } catch (err) {
      // Only stats depend on it: the outage itself is reported by the consumer and producer.
      if (!this.#closed) this.#log.debug({ err }, 'could not read the input offsets');
    } finally {
      this.#inFlight = false;
    }
  }

  highWatermark(topic: string, partition: number): number | undefined {
    return this.#high.get(topic)?.[partition];
  }

  committed(topic: string, partition: number): number | null | undefined {
    return this.#committed.get(topic)?.[partition];
  }

  stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
