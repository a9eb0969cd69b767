// Which input offsets of one partition may be committed: a batch's offsets become committable
// once its effects are acked and its deferred commits released, and only after every earlier
// batch did (at-least-once: nothing is committed before everything it caused is in Kafka).
import type { DoneOffset } from '../protocol.js';

interface PendingBatch {
  id: number;
  done: DoneOffset[];
  acked: boolean;
  /** Deferred commits (ctx.deferCommit) not yet released. */
  holds: number;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  offset: number;
}

export class CommitTracker {
  readonly #partition: number;
  readonly #batches: PendingBatch[] = [];
  /** Next offset to commit per topic (the last done offset + 1). */
  readonly #committable = new Map<string, number>();
  readonly #committed = new Map<string, number>();
  readonly #moved: () => void;
  #drained: (() => void) | undefined;

  constructor(partition: number, moved: () => void) {
    this.#partition = partition;
    this.#moved = moved;
  }

  /** A batch of effects handed over by the actor, in batch order. */
  add(id: number, done: DoneOffset[], holds: number): void {
    this.#batches.push({ id, done, acked: false, holds });
  }

  acked(id: number): void {
    const b = this.#batches.find((x) => x.id === id);
    if (b) b.acked = true;
    this.#advance();
  }

  /** Every deferred commit of the batch was released. */
  released(id: number): void {
    const b = this.#batches.find((x) => x.id === id);
    if (b) b.holds = 0;
    this.#advance();
  }

  get pending(): number {
    return this.#batches.length;
  }

  /** Resolves once no batch is pending (every effect acked, every hold released). */
  drained(): Promise<void> {
    if (this.#batches.length === 0) return Promise.resolve();
    return new Promise((r) => (this.#drained = r));
  }

  #advance(): void {
    let moved = false;
    while (this.#batches.length > 0 && this.#batches[0]!.acked && this.#batches[0]!.holds === 0) {
      for (const d of this.#batches.shift()!.done) this.#committable.set(d.topic, d.offset + 1);
      moved = true;
    }
    if (this.#batches.length === 0) this.#drained?.();
    if (moved) this.#moved();
  }

  /** Offsets that may be committed and were not yet. */
  pendingCommits(): CommitOffset[] {
    const out: CommitOffset[] = [];
    for (const [topic, offset] of this.#committable) {
      if (this.#committed.get(topic) !== offset) out.push({ topic, partition: this.#partition, offset });
    }
    return out;
  }

  markCommitted(list: { topic: string; offset: number }[]): void {
    for (const c of list) this.#committed.set(c.topic, c.offset);
  }

  /** The next offset to consume per topic as far as it is known: committed, else committable. */
  next(topic: string): number | undefined {
    return this.#committed.get(topic) ?? this.#committable.get(topic);
  }

  committed(): Record<string, number> {
    return Object.fromEntries(this.#committed);
  }
}
