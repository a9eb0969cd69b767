// Counters of one processor instance over its whole run: they only grow, across rebalances and
// actor restarts (an actor's own counts start again at 0), which is what Prometheus counters need.

export interface CounterStats {
  /** Input records processed, per topic, per partition. */
  processed: Record<string, Record<number, number>>;
  /** Records written and acked, per topic: emits, loopbacks and changelog writes. */
  produced: Record<string, number>;
  /** Assignments received from the group (the first one included). */
  rebalances: number;
}

export class ProcessorCounters {
  readonly #processed = new Map<string, Map<number, number>>();
  readonly #produced = new Map<string, number>();
  #rebalances = 0;

  processed(topic: string, partition: number, n: number): void {
    let m = this.#processed.get(topic);
    if (!m) this.#processed.set(topic, (m = new Map()));
    m.set(partition, (m.get(partition) ?? 0) + n);
  }

  produced(counts: Map<string, number>): void {
    for (const [topic, n] of counts) this.#produced.set(topic, (this.#produced.get(topic) ?? 0) + n);
  }

  rebalanced(): void {
    this.#rebalances++;
  }

  stats(): CounterStats {
    const processed: CounterStats['processed'] = {};
    for (const [topic, m] of this.#processed) processed[topic] = Object.fromEntries(m);
    return { processed, produced: Object.fromEntries(this.#produced), rebalances: this.#rebalances };
  }
}
