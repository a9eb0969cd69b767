// Main-thread proxy of one partition actor, a thin handle over its parts: the tables it restores
// and follows (PartitionTable), the records it feeds with a bounded amount held (flow), the
// effects it produces in order (EffectsProducer) and the offsets that may be committed
// (CommitTracker). Its lifecycle is HANDLE_TRANSITIONS.
import type { MessagePort } from 'node:worker_threads';
import { deserializeError } from '../../errors.js';
import type { Hasher } from '../../hashers.js';
import type { ProducerPort, ReaderPort, RecordChunk } from '../../kafka/ports.js';
import { summarizeBatches } from '../../kafka/record-batch.js';
import type { Logger } from '../../logger.js';
import { HANDLE_TRANSITIONS, Lifecycle, type HandleState } from '../lifecycle.js';
import type { ActorToSupervisor, SupervisorToActor } from '../protocol.js';
import { BatchWriter, RecordKind } from '../wire.js';
import { CommitTracker, type CommitOffset } from './commit-tracker.js';
import { EffectsProducer } from './effects-producer.js';
import type { InputOffsets, PartitionStats } from '../../stats.js';
import type { ProcessorCounters } from './counters.js';
import { inputOffsets, maxKnown, type BrokerOffsets } from './input-offsets.js';
import { Mailbox } from './mailbox.js';
import { PartitionTable, type RecoveryStats, type TableSink } from '../../table/partition-table.js';

export interface HandleDeps {
  group: string;
  tableTopic: string;
  hasTable: boolean;
  /** Joined tables: restored before any input, then followed. */
  joins: string[];
  producer: ProducerPort;
  reader: ReaderPort;
  /** A reader of its own for this handle's followers (a long poll would hold up a shared one). */
  newReader(): ReaderPort;
  hasher: Hasher;
  partitionsOf(topic: string): number;
  log: Logger;
  maxInflight: number;
  stopTimeoutMs: number;
  fail(err: Error): void;
  changed(): void;
  /** Everything fetched for this partition so far is processed, and its effects acked. */
  caughtUp(): void;
  /** The instance's counters: processed inputs and produced records are added as they happen. */
  counters: ProcessorCounters;
  pause(handle: ActorHandle): void;
  resume(handle: ActorHandle): void;
}

export type { HandleState };

export type { RecoveryStats };

export class ActorHandle {
  readonly partition: number;
  readonly life: Lifecycle<HandleState>;
  host = -1;
  processed = 0;
  inflight = 0;
  readonly #d: HandleDeps;
  #port: MessagePort | undefined;
  #mail: Mailbox | undefined;
  #buffered: { topic: string; chunk: RecordChunk }[] = [];
  readonly #lastSent = new Map<string, number>();
  readonly #highWatermarks = new Map<string, number>();
  /** The offset after the last record processed, per input topic (this assignment). */
  readonly #processedNext = new Map<string, number>();
  readonly #commits: CommitTracker;
  readonly #effects: EffectsProducer;
  #paused = false;
  #caughtUp = false;
  #bufferedRecords = 0;
  /** Records processed whose effects Kafka has not acked yet (they pile up while the broker is away). */
  #unacked = 0;
  #catchingUp = false;
  #accepting = true;
  #dead: Error | undefined;
  #seq = 0;
  readonly #samples: [number, number][] = [];
  /** The group table and the joined tables of this partition, by topic. */
  readonly #tables = new Map<string, PartitionTable>();
  /** Ends restores and followers when the handle stops. */
  readonly #abort = new AbortController();
  #followReader: ReaderPort | undefined;
  readonly #visits = new Map<number, (r: { visited: number; aborted: boolean }) => void>();
  #following: Promise<unknown> = Promise.resolve();

  constructor(partition: number, deps: HandleDeps) {
    this.partition = partition;
    this.#d = deps;
    this.life = new Lifecycle(`partition ${deps.group}[${partition}]`, 'waiting', HANDLE_TRANSITIONS);
    this.life.onChange(() => deps.changed());
    this.#commits = new CommitTracker(partition, () => {
      deps.changed();
      if (this.idle()) deps.caughtUp();
    });
    this.#effects = new EffectsProducer({
      group: deps.group,
      partition,
      tableTopic: deps.tableTopic,
      producer: deps.producer,
      hasher: deps.hasher,
      partitionsOf: deps.partitionsOf,
      fail: (err) => {
        this.#accepting = false;
        deps.fail(err);
      },
    });
  }

  get state(): HandleState {
    return this.life.state;
  }

  /** Connects the handle to its actor's port and runs recovery; resolves when running. */
  async attach(port: MessagePort, host: number): Promise<void> {
    this.#port = port;
    this.host = host;
    this.#mail = new Mailbox(port, ['opened', 'recover-applied', 'running', 'stopped', 'closed', 'get-result'], (m) => this.#onMessage(m));
    this.#set('opening');
    const opened = await this.#mail.next('opened');
    if (this.state !== 'opening') return; // stopped meanwhile
    this.#set('recovering');
    const { tableTopic, hasTable, joins, reader, log } = this.#d;
    for (const topic of [...(hasTable ? [tableTopic] : []), ...joins]) {
      const sink = this.#actorSink(topic, opened.checkpoints[topic] ?? null);
      this.#tables.set(topic, new PartitionTable({ reader, topic, partition: this.partition, sink, log }));
    }
    await Promise.all([...this.#tables.values()].map((t) => t.restore(this.#abort.signal)));
    if ((this.state as HandleState) !== 'recovering') return;
    this.#followJoins();
    this.#post({ kind: 'recover-done' });
    await this.#mail.next('running');
    if ((this.state as HandleState) === 'recovering') this.#set('running');
    if (this.#buffered.length > 0) this.#catchUp();
  }

  /** The group table's recovery (what stats and logs report). */
  get recovery(): RecoveryStats | undefined {
    return this.#tables.get(this.#d.tableTopic)?.recovery;
  }

  /** Joined tables keep following their changelog while the actor processes input. */
  #followJoins(): void {
    if (this.#d.joins.length === 0) return;
    const reader = this.#d.newReader();
    this.#followReader = reader;
    const follows = this.#d.joins.map((topic) => {
      const restored = this.#tables.get(topic)!;
      const follower = new PartitionTable({ reader, topic, partition: this.partition, sink: this.#actorSink(topic, null), log: this.#d.log });
      follower.position = restored.position;
      follower.recovery = restored.recovery;
      this.#tables.set(topic, follower);
      return follower.follow(this.#abort.signal);
    });
    this.#following = Promise.all(follows).catch((err: unknown) => {
      if (this.#accepting) this.#d.fail(err as Error);
    });
  }

  /** A sink into the actor's store of `table`: batches posted in order, each acked once applied. */
  #actorSink(table: string, checkpoint: number | null): TableSink {
    return {
      checkpoint: () => checkpoint,
      wipe: async () => this.#post({ kind: 'wipe', table }),
      apply: async (chunk, hold = false) => {
        if (chunk.batches) {
          // The fetched batches go over as they are (one copy, into a buffer we can transfer):
          // the actor decodes them, so no record is touched in this thread.
          const { bytes, from, to } = chunk.batches;
          const copy = new Uint8Array(bytes).buffer; // a copy (Buffer#slice would be a view)
          this.#post({ kind: 'recover-batches', table, bytes: copy, from, to, last: chunk.last, hold }, [copy]);
        } else {
          const w = new BatchWriter(64 * 1024);
          for (const r of chunk.records!) {
            w.add({ kind: RecordKind.Table, topic: table, partition: this.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: undefined });
          }
          const buffer = w.finish();
          this.#post({ kind: 'recover-batch', table, buffer }, [buffer]);
        }
        await this.#mail!.next('recover-applied');
      },
      flush: async () => {
        this.#post({ kind: 'recover-flush', table });
        await this.#mail!.next('recover-applied');
      },
    };
  }

  /**
   * Before the first input record reaches the actor, bring the table to the changelog's
   * high-water mark once more. The eager group protocol has no "revoked" step before a rejoin, so a previous
   * owner may still be acking its last writes while we recover. Every write it acked before
   * committing the offsets our consumer starts from is below the mark read now (the first
   * batch arrives only after our consumer fetched those offsets), so none of them is missed.
   */
  #catchUp(): void {
    if (this.#catchingUp || this.#caughtUp) return;
    this.#catchingUp = true;
    void (async () => {
      try {
        const table = this.#tables.get(this.#d.tableTopic);
        if (table) {
          const n = await table.catchUp(this.#abort.signal);
          if (n > 0) this.#d.log.info({ partition: this.partition, records: n }, 'caught up changelog writes of the previous owner');
        }
        this.#caughtUp = true;
        if (!this.#accepting) return;
        const buffered = this.#buffered;
        this.#buffered = [];
        this.#bufferedRecords = 0;
        for (const b of buffered) this.#send(b.topic, b.chunk);
        this.#flow();
      } catch (err) {
        if (this.#accepting) this.#d.fail(err as Error);
      }
    })();
  }

  /** Input records fetched for this partition. Records already sent are skipped (refetch after a rejoin). */
  deliver(topic: string, chunk: RecordChunk, highWatermark: number): void {
    this.#highWatermarks.set(topic, highWatermark);
    if (!this.#accepting) return;
    if (!this.#caughtUp) {
      this.#buffered.push({ topic, chunk });
      this.#bufferedRecords += chunk.count;
      this.#flow();
      if (this.state === 'running') this.#catchUp();
      return;
    }
    this.#send(topic, chunk);
  }

  /**
   * Backpressure: the partition is paused while the records held for it (buffered before
   * catch-up, handed to the actor, or processed with effects not yet acked) reach maxInflight,
   * and resumed below half of it. This bounds what one partition holds in memory, also while the
   * broker is away and nothing can be acked.
   */
  #flow(): void {
    const held = this.#bufferedRecords + this.inflight + this.#unacked;
    if (!this.#paused && held >= this.#d.maxInflight) {
      this.#paused = true;
      this.#d.pause(this);
    } else if (this.#paused && held < this.#d.maxInflight / 2) {
      this.#paused = false;
      this.#d.resume(this);
    }
  }

  #send(topic: string, chunk: RecordChunk): void {
    const last = this.#lastSent.get(topic) ?? -1;
    if (chunk.last <= last) return;
    let count: number;
    if (chunk.batches) {
      // Record batches go over as fetched (one copy, into a buffer we can transfer): the actor
      // decodes them, so no input record is touched in this thread. Offsets up to `last` were
      // sent before (a refetch after a rejoin).
      const { bytes, to } = chunk.batches;
      const from = Math.max(chunk.batches.from, last + 1);
      count = from === chunk.batches.from ? chunk.count : summarizeBatches(bytes, from, to).count;
      if (count === 0) return;
      const copy = new Uint8Array(bytes).buffer; // a copy (Buffer#slice would be a view)
      this.#post({ kind: 'input-batches', topic, bytes: copy, from, to }, [copy]);
    } else {
      const w = new BatchWriter(32 * 1024);
      for (const r of chunk.records!) {
        if (r.offset <= last) continue;
        w.add({ kind: RecordKind.Input, topic, partition: this.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
      }
      count = w.count;
      if (count === 0) return;
      const buffer = w.finish();
      this.#post({ kind: 'records', buffer }, [buffer]);
    }
    this.#lastSent.set(topic, chunk.last);
    this.inflight += count;
    this.#flow();
  }

  #post(m: SupervisorToActor, transfer?: ArrayBuffer[]): void {
    if (!this.#dead) this.#port!.postMessage(m, transfer);
  }

  #set(s: HandleState): void {
    if (this.life.can(s)) this.life.to(s);
  }

  #onMessage(m: ActorToSupervisor): void {
    switch (m.kind) {
      case 'effects': {
        this.inflight -= m.records;
        this.processed += m.records;
        this.#unacked += m.records;
        this.#sampleRate();
        this.#commits.add(m.batch, m.done, m.holds);
        for (const d of m.done) {
          this.#processedNext.set(d.topic, d.offset + 1);
          this.#d.counters.processed(d.topic, this.partition, d.records);
        }
        this.#flow();
        const { batch, records } = m;
        this.#effects.enqueue(m.buffer, m.tableWrites, m.done, (changelogOffset, produced) => {
          this.#d.counters.produced(produced);
          this.#post({ kind: 'acked', batch, changelogOffset });
          this.#unacked -= records;
          this.#flow();
          this.#commits.acked(batch);
        });
        return;
      }
      case 'release':
        this.#commits.released(m.batch);
        return;
      case 'visit-done':
        this.#visits.get(m.seq)?.({ visited: m.visited, aborted: m.aborted });
        this.#visits.delete(m.seq);
        return;
      case 'failed':
        this.#set('failed');
        this.#accepting = false;
        this.#d.fail(deserializeError(m.error));
        return;
      default:
        this.#d.log.error({ kind: m.kind, partition: this.partition }, 'unexpected message from actor');
    }
  }

  /** Keeps about ten seconds of (time, processed) samples, one per second, for the rate. */
  #sampleRate(): void {
    const now = Date.now();
    const last = this.#samples[this.#samples.length - 1];
    if (last && now - last[0] < 1000) return;
    this.#samples.push([now, this.processed]);
    if (this.#samples.length > 11) this.#samples.shift();
  }

  #rate(): number {
    const first = this.#samples[0];
    if (!first) return 0;
    const ms = Date.now() - first[0];
    return ms < 500 ? 0 : Math.round(((this.processed - first[1]) * 1000) / ms);
  }

  /**
   * Nothing is held for this partition (buffered, in the actor, or waiting for acks or released
   * holds) and it has processed up to the high-water mark its last fetch reported.
   */
  idle(): boolean {
    if (this.state !== 'running' || this.inflight > 0 || this.#bufferedRecords > 0 || this.#commits.pending > 0) return false;
    for (const [topic, hwm] of this.#highWatermarks) if ((this.#processedNext.get(topic) ?? this.#commits.next(topic) ?? 0) < hwm) return false;
    return true;
  }

  /** Offsets that may be committed and were not yet. */
  pendingCommits(): CommitOffset[] {
    return this.#commits.pendingCommits();
  }

  markCommitted(list: { topic: string; offset: number }[]): void {
    this.#commits.markCommitted(list);
  }

  /** Runs visitor `name` over this partition's keys; resolves when all were visited and acked, or it was aborted. */
  visit(name: string, meta: unknown, signal?: AbortSignal): Promise<{ visited: number; aborted: boolean }> {
    const seq = ++this.#seq;
    if (this.#dead || this.state !== 'running') return Promise.resolve({ visited: 0, aborted: true });
    return new Promise((resolve) => {
      const onAbort = () => this.#post({ kind: 'visit-cancel', seq });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#visits.set(seq, (r) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      });
      this.#post({ kind: 'visit', seq, name, meta });
    });
  }

  async get(key: string): Promise<Uint8Array | null> {
    const seq = ++this.#seq;
    this.#post({ kind: 'get', seq, key });
    const r = await this.#mail!.next('get-result');
    if (r.error) throw deserializeError(r.error);
    return r.value;
  }

  /**
   * Graceful stop: the actor finishes the record in hand and flushes; every effect is acked;
   * deferred commits get until the deadline; then the store is closed. Bounded in time.
   */
  async stop(): Promise<void> {
    if (this.state === 'closed') return;
    this.#accepting = false;
    this.#abort.abort();
    this.#buffered = [];
    if (this.state !== 'failed') this.#set('stopping');
    const deadline = Date.now() + this.#d.stopTimeoutMs;
    const within = <T>(p: Promise<T>, what: string) => withDeadline(p, deadline, () =>
      this.#d.log.warn({ partition: this.partition }, `stop: ${what} did not finish in time`));
    if (this.#port && !this.#dead) {
      this.#post({ kind: 'stop', seq: ++this.#seq });
      const stopped = await within(this.#mail!.next('stopped'), 'the record in hand').catch(() => undefined);
      if (stopped) this.inflight -= stopped.dropped;
      await within(this.#effects.idle(), 'producing effects');
      // After a failure nothing more will be acked or released: do not wait for it.
      if (this.#commits.pending > 0 && !this.#effects.failed && this.state !== 'failed') {
        await within(this.#commits.drained(), 'deferred commits');
      }
      this.#post({ kind: 'close', seq: ++this.#seq });
      await within(this.#mail!.next('closed'), 'closing the store').catch(() => undefined);
    } else {
      await within(this.#effects.idle(), 'producing effects');
    }
    await this.#following;
    await this.#followReader?.close();
    // The actor reported every visit it had when it stopped; a dead one cannot.
    for (const done of this.#visits.values()) done({ visited: 0, aborted: true });
    this.#visits.clear();
    this.#port?.close();
    this.#set('closed');
  }

  /** The thread hosting this actor died: no reply will come. */
  kill(err: Error): void {
    this.#dead = err;
    this.#accepting = false;
    this.#abort.abort();
    this.#mail?.kill(err);
  }

  /** `topics`: the input (and loop) topics; `brokers`: what the brokers last said of them. */
  stats(topics: readonly string[], brokers?: BrokerOffsets): PartitionStats {
    const committedHere = this.#commits.committed();
    const offsets: Record<string, InputOffsets> = {};
    let lagSum: number | null = 0;
    for (const topic of topics) {
      const o = inputOffsets(
        maxKnown(this.#highWatermarks.get(topic), brokers?.highWatermark(topic, this.partition)),
        maxKnown(committedHere[topic], brokers?.committed(topic, this.partition) ?? undefined),
        this.#processedNext.get(topic),
      );
      offsets[topic] = o;
      lagSum = lagSum === null || o.lag === null ? null : lagSum + o.lag;
    }
    return {
      partition: this.partition,
      state: this.state,
      worker: this.host,
      processed: this.processed,
      /** Records per second over about the last ten seconds. */
      rate: this.#rate(),
      inflight: this.inflight,
      paused: this.#paused,
      offsets,
      lag: lagSum,
      recovery: this.recovery ?? null,
      /** Next changelog offset to read per table this actor holds (the group table, joined tables). */
      tables: Object.fromEntries([...this.#tables].map(([topic, t]) => [topic, t.position])),
    };
  }
}

async function withDeadline<T>(p: Promise<T>, deadline: number, onTimeout: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve(undefined);
    }, Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
