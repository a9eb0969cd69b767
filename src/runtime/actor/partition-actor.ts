// Worker side of one partition: its table (overlay of un-acked writes over the store), the
// changelog recovery, and serial processing of every input record of the partition.
import type { MessagePort } from 'node:worker_threads';
import { decodeWith, encodeWith, keyBytes, type Codec } from '../../codec/codec.js';
import type { Callback, GroupGraph } from '../../graph/define-group.js';
import type { EmitOptions, WriteOptions } from '../../graph/context.js';
import { mergeHeaders } from '../../headers.js';
import type { Headers } from '../../headers.js';
import { InvalidArgumentError, NotFoundError, ProcessingError, serializeError, StorageError } from '../../errors.js';
import { openStore } from '../../storage/open.js';
import { SharedTableStore } from '../../storage/shared-table.js';
import { ChangelogApplier } from '../../table/update.js';
import type { PartitionStore } from '../../storage/storage.js';
import { ACTOR_TRANSITIONS, Lifecycle, type ActorState } from '../lifecycle.js';
import { decodeUtf8 } from '../../codec/utf8.js';
import { assertNever, type ActorInit, type ActorToSupervisor, type DoneOffset, type SupervisorToActor } from '../protocol.js';
import { BatchWriter, readBatch, RecordKind, type WireRecord } from '../wire.js';
import { FailSignal, RecordContext, type ContextHost } from './context.js';
import { InputQueue } from './input-queue.js';

interface Handler {
  codec: Codec<unknown>;
  callback: Callback<unknown>;
}

/** Effects of the records processed since the last flush (the records themselves: the actor's writer). */
interface OpenBatch {
  id: number;
  tableWrites: [string, Uint8Array | null][];
  done: Map<string, DoneOffset>;
  records: number;
  holds: number;
  /** Keys visited in this batch, per visit. */
  visits: Map<number, number>;
}

/** A flushed batch waiting for its ack (table writes) and its deferred commits (holds). */
interface SentBatch {
  tableWrites: [string, Uint8Array | null][];
  holds: number;
  visits: Map<number, number>;
}

/**
 * One visitAll on this partition: the keys of the table when it started, visited one by one
 * between input records; a key counts as visited once the effects of its visit are acked.
 */
interface Visit {
  seq: number;
  callback: Callback<unknown>;
  meta: unknown;
  keys: string[];
  next: number;
  acked: number;
}

/** lmdb-js refuses longer keys; checked before the write reaches the changelog. */
const MAX_TABLE_KEY_BYTES = 1978;
/** An effect batch open this long is handed over at the next record, however few it holds. */
const FLUSH_AFTER_MS = 200;
/**
 * Acked writes go into the store at most this often. The changelog already holds them and reads
 * see them in the overlay, so the store may lag; after a crash, recovery replays what it lagged.
 * At 10,000 msg/s an lmdb transaction per ack (a few records each) was ~10 % of the busy thread;
 * every 20 ms, the actor threads still used 15 % more CPU than every 200 ms (bench/RESULTS.md).
 */
const APPLY_EVERY_MS = 200;
const keyString = (k: Uint8Array | null): string => (k === null ? '' : decodeUtf8(k, false));

export class PartitionActor implements ContextHost {
  readonly group: string;
  readonly partition: number;
  readonly #port: MessagePort;
  readonly #init: ActorInit;
  readonly #graph: GroupGraph;
  readonly #handlers = new Map<string, Handler>();
  readonly #outputs = new Map<string, Codec<unknown>>();
  readonly #persist: Codec<unknown> | undefined;
  readonly #loopCodec: Codec<unknown> | undefined;
  readonly #defaultHeaders: Headers | undefined;
  readonly #life: Lifecycle<ActorState>;
  /** The group table's store. */
  #store: PartitionStore | undefined;
  /** Every store by table topic: the group table's and each joined table's (read-only here). */
  readonly #stores = new Map<string, PartitionStore>();
  readonly #appliers = new Map<string, ChangelogApplier>();
  readonly #joins = new Map<string, Codec<unknown>>();
  readonly #lookups = new Map<string, { codec: Codec<unknown>; path: string; store?: SharedTableStore }>();
  /** Un-acked table writes; reads see them first. */
  readonly #overlay = new Map<string, { value: Uint8Array | null; batch: number }>();
  readonly #sent = new Map<number, SentBatch>();
  /** Acked table writes not in the store yet, the latest per key: the next store transaction takes them all. */
  #toApply = new Map<string, { value: Uint8Array | null; batch: number }>();
  #toApplyCheckpoint = -1;
  #applyQueued = false;
  #applyTimer: NodeJS.Timeout | undefined;
  #lastApplyAt = Number.NEGATIVE_INFINITY;
  readonly #input: InputQueue;
  #draining: Promise<void> | undefined;
  /** The open batch's packed effects; finish() copies out, so one buffer serves every batch. */
  readonly #writer = new BatchWriter(16 * 1024);
  #batch: OpenBatch;
  #nextBatch = 0;
  #applying: Promise<void> = Promise.resolve();
  #current: WireRecord | undefined;
  /** The key of `#current` as its callback sees it. */
  #currentKey = '';
  readonly #visitors = new Map<string, Callback<unknown>>();
  readonly #visits = new Map<number, Visit>();
  /** Alternates input records and visits while both are waiting. */
  #visitTurn = false;
  #closing = false;

  constructor(port: MessagePort, graph: GroupGraph, init: ActorInit) {
    this.#port = port;
    this.#graph = graph;
    this.#init = init;
    this.group = init.group;
    this.partition = init.partition;
    this.#input = new InputQueue(init.partition);
    this.#life = new Lifecycle(`actor ${init.group}[${init.partition}]`, 'opening', ACTOR_TRANSITIONS);
    for (const e of graph.inputEdges) for (const t of e.topics) this.#handlers.set(t, { codec: e.codec, callback: e.callback });
    const loop = graph.loopEdge;
    if (loop) this.#handlers.set(init.loopTopic, { codec: loop.codec, callback: loop.callback });
    this.#loopCodec = loop?.codec;
    for (const o of graph.outputEdges) this.#outputs.set(o.topic, o.codec);
    this.#persist = graph.persistEdge?.codec;
    for (const j of graph.joinEdges) this.#joins.set(j.table, j.codec);
    for (const v of graph.visitorEdges) this.#visitors.set(v.name, v.callback);
    for (const l of graph.lookupEdges) {
      const at = init.lookups.find((x) => x.table === l.table);
      if (at) this.#lookups.set(l.table, { codec: l.codec, path: at.path });
    }
    this.#defaultHeaders = init.defaultHeaders;
    this.#batch = this.#newBatch();
    port.on('message', (m: SupervisorToActor) => this.#onMessage(m));
  }

  /** Opens the store and reports its checkpoint. */
  start(): void {
    try {
      this.#store = openStore(this.#init.storage, this.#init.tableTopic, this.partition);
      this.#stores.set(this.#init.tableTopic, this.#store);
      for (const table of this.#init.joins) this.#stores.set(table, openStore(this.#init.storage, table, this.partition));
      this.#life.to('recovering');
      const checkpoints: Record<string, number | null> = {};
      for (const [table, store] of this.#stores) checkpoints[table] = store.checkpoint();
      this.#post({ kind: 'opened', checkpoints });
    } catch (err) {
      this.#failWith(err);
    }
  }

  #post(msg: ActorToSupervisor, transfer?: ArrayBuffer[]): void {
    this.#port.postMessage(msg, transfer);
  }

  #onMessage(m: SupervisorToActor): void {
    switch (m.kind) {
      case 'wipe':
        this.#chain(() => {
          this.#applierOf(m.table).drop();
          return this.#storeOf(m.table).clear();
        });
        return;
      case 'recover-batch':
        this.#chain(async () => {
          await this.#applierOf(m.table).records(readBatch(m.buffer));
          this.#post({ kind: 'recover-applied', table: m.table });
        });
        return;
      case 'recover-batches':
        this.#chain(async () => {
          const batches = { bytes: new Uint8Array(m.bytes), from: m.from, to: m.to };
          await this.#applierOf(m.table).batches(batches, m.last, m.hold);
          this.#post({ kind: 'recover-applied', table: m.table });
        });
        return;
      case 'recover-flush':
        this.#chain(async () => {
          await this.#applierOf(m.table).flush();
          this.#post({ kind: 'recover-applied', table: m.table });
        });
        return;
      case 'recover-done':
        this.#chain(async () => {
          if (!this.#life.is('recovering')) return;
          this.#life.to('running');
          this.#post({ kind: 'running' });
          this.#kick();
        });
        return;
      case 'records':
      case 'input-batches': {
        if (!this.#life.is('running', 'recovering')) return; // stopping: the records will be redelivered
        if (m.kind === 'records') this.#input.pushRecords(readBatch(m.buffer));
        else this.#input.pushBatches(m.topic, new Uint8Array(m.bytes), m.from, m.to);
        this.#kick();
        return;
      }
      case 'acked':
        this.#onAcked(m.batch, m.changelogOffset);
        return;
      case 'get':
        this.#onGet(m.seq, m.key);
        return;
      case 'visit':
        this.#startVisit(m.seq, m.name, m.meta);
        return;
      case 'visit-cancel':
        this.#endVisit(m.seq, true);
        return;
      case 'stop':
        void this.#stop(m.seq);
        return;
      case 'close':
        void this.#close(m.seq);
        return;
      default:
        assertNever(m, `actor ${this.group}[${this.partition}]`);
    }
  }

  /** Store operations run one after the other, in message order. */
  #chain(op: () => Promise<void>): void {
    this.#applying = this.#applying.then(op).catch((err) => {
      const e = err instanceof StorageError ? err : new StorageError(
        `group '${this.group}' table '${this.#init.tableTopic}' partition ${this.partition}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      this.#failWith(e);
    });
  }

  /** The changelog applier of a table's store (made on first use; it holds what a restore read). */
  #applierOf(table: string): ChangelogApplier {
    let a = this.#appliers.get(table);
    if (!a) {
      a = new ChangelogApplier(this.#storeOf(table), this.partition, this.#graph.updateFor(table, this.#init.tableTopic));
      this.#appliers.set(table, a);
    }
    return a;
  }

  #storeOf(table: string): PartitionStore {
    const store = this.#stores.get(table);
    if (!store) throw new StorageError(`group '${this.group}' partition ${this.partition}: no store for table '${table}'`);
    return store;
  }

  #newBatch(): OpenBatch {
    return { id: this.#nextBatch++, tableWrites: [], done: new Map(), records: 0, holds: 0, visits: new Map() };
  }

  #kick(): void {
    if (this.#draining || !this.#life.is('running')) return;
    this.#draining = this.#drain().finally(() => (this.#draining = undefined));
  }

  async #drain(): Promise<void> {
    const flushEvery = this.#init.flushEvery;
    let slice = performance.now();
    let batchAt = slice;
    let items = 0;
    for (;;) {
      if (!this.#life.is('running')) return;
      const hasInput = this.#input.peek() !== undefined;
      const visit = this.#nextVisit();
      if (!hasInput && !visit) break;
      this.#visitTurn = !this.#visitTurn;
      const rec = visit && (!hasInput || this.#visitTurn) ? this.#visitRecord(visit) : this.#input.take()!;
      this.#current = rec;
      const mark = this.#writer.mark();
      const tableMark = this.#batch.tableWrites.length;
      try {
        const pending = rec.offset < 0 ? this.#runVisit(visit!, rec) : this.#process(rec);
        if (pending) await pending;
      } catch (err) {
        this.#current = undefined;
        // The failed record's own emits and writes are dropped; the records before it are
        // complete, so their effects go out (and their offsets may be committed).
        this.#writer.rollback(mark);
        this.#batch.tableWrites.length = tableMark;
        this.#flush();
        this.#failRecord(rec, err);
        return;
      }
      this.#current = undefined;
      if (rec.offset >= 0) {
        const d = this.#batch.done.get(rec.topic);
        if (d) {
          d.offset = rec.offset;
          d.records++;
        } else {
          this.#batch.done.set(rec.topic, { topic: rec.topic, offset: rec.offset, records: 1 });
        }
        this.#batch.records++;
      } else {
        this.#batch.visits.set(visit!.seq, (this.#batch.visits.get(visit!.seq) ?? 0) + 1);
      }
      // Hand effects over every `flushEvery` records, or once a batch has been open for
      // FLUSH_AFTER_MS (slow callbacks: their effects and offsets should not wait for a full
      // batch); yield at least every 20 ms so other actors of this thread (and, with workers: 0,
      // the consumer) are not starved. Yielding alone does not flush: more, smaller effect
      // batches cost the main thread per batch.
      const now = performance.now();
      const full = ++items >= flushEvery || now - batchAt >= FLUSH_AFTER_MS;
      if (full) {
        this.#flush();
        items = 0;
        batchAt = now;
      }
      if (full || now - slice > 20) {
        await new Promise<void>((r) => setImmediate(r));
        slice = performance.now();
      }
    }
    if (this.#life.is('running')) this.#flush();
  }

  #nextVisit(): Visit | undefined {
    if (this.#visits.size === 0) return undefined;
    for (const v of this.#visits.values()) if (v.next < v.keys.length) return v;
    return undefined;
  }

  /** The record a visit runs on: the table key, no offset (it commits nothing). */
  #visitRecord(v: Visit): WireRecord {
    const key = v.keys[v.next++]!;
    return { kind: RecordKind.Input, topic: this.#init.tableTopic, partition: this.partition, offset: -1, timestamp: Date.now(), key: keyBytes(key), value: null, headers: undefined };
  }

  #runVisit(v: Visit, rec: WireRecord): void | Promise<void> {
    const out = v.callback(this.#context(rec), v.meta);
    if (out && typeof (out as Promise<void>).then === 'function') return out as Promise<void>;
  }

  /** Starts visiting every key this partition holds now (the store and its un-acked writes). */
  #startVisit(seq: number, name: string, meta: unknown): void {
    const callback = this.#visitors.get(name);
    if (!callback || !this.#life.is('running', 'recovering')) {
      this.#post({ kind: 'visit-done', seq, visited: 0, aborted: true });
      return;
    }
    const keys = new Set<string>();
    for (const [k] of this.#store!.entries()) keys.add(k);
    for (const [k, o] of this.#overlay) {
      if (o.value === null) keys.delete(k);
      else keys.add(k);
    }
    const v: Visit = { seq, callback, meta, keys: [...keys], next: 0, acked: 0 };
    if (v.keys.length === 0) {
      this.#post({ kind: 'visit-done', seq, visited: 0, aborted: false });
      return;
    }
    this.#visits.set(seq, v);
    this.#kick();
  }

  /** Stops a visit: keys not yet visited are skipped; what was acked so far is reported. */
  #endVisit(seq: number, aborted: boolean): void {
    const v = this.#visits.get(seq);
    if (!v) return;
    this.#visits.delete(seq);
    this.#post({ kind: 'visit-done', seq, visited: v.acked, aborted });
  }

  /** Runs one record's callback; returns a promise only for async callbacks. */
  #process(rec: WireRecord): void | Promise<void> {
    const h = this.#handlers.get(rec.topic);
    if (!h) throw new InvalidArgumentError(`no callback for topic '${rec.topic}'`);
    let value: unknown;
    if (rec.value === null) {
      switch (this.#init.nilHandling) {
        case 'ignore':
          return;
        case 'process':
          value = null;
          break;
        case 'decode':
          value = decodeWith(h.codec, new Uint8Array(0));
          break;
      }
    } else {
      value = decodeWith(h.codec, rec.value);
    }
    const out = h.callback(this.#context(rec), value);
    if (out && typeof (out as Promise<void>).then === 'function') return out as Promise<void>;
  }

  #context(rec: WireRecord): RecordContext {
    this.#currentKey = keyString(rec.key);
    return new RecordContext(this, this.#currentKey, rec);
  }

  #flush(): void {
    const b = this.#batch;
    if (b.records === 0 && this.#writer.count === 0 && b.holds === 0 && b.visits.size === 0) return;
    const buffer = this.#writer.finish();
    this.#writer.reset();
    this.#batch = this.#newBatch();
    this.#sent.set(b.id, { tableWrites: b.tableWrites, holds: b.holds, visits: b.visits });
    this.#post(
      {
        kind: 'effects',
        batch: b.id,
        buffer,
        records: b.records,
        done: [...b.done.values()],
        holds: b.holds,
        tableWrites: b.tableWrites.length,
      },
      [buffer],
    );
  }

  #onAcked(batch: number, changelogOffset: number | null): void {
    if (this.#closing) return; // the stop deadline passed; the store is closing
    const sent = this.#sent.get(batch);
    if (!sent) return;
    for (const [seq, n] of sent.visits) {
      const v = this.#visits.get(seq);
      if (!v) continue;
      v.acked += n;
      if (v.acked >= v.keys.length) this.#endVisit(seq, false);
    }
    sent.visits = new Map();
    const writes = sent.tableWrites;
    sent.tableWrites = [];
    if (sent.holds === 0) this.#sent.delete(batch);
    if (writes.length === 0 || changelogOffset === null) return;
    // Acks can come faster than store transactions commit (with workers: 0 the busy thread delays
    // every commit): merge them, so what waits is bounded by the keys, not by the records.
    for (const [k, v] of writes) this.#toApply.set(k, { value: v, batch });
    this.#toApplyCheckpoint = changelogOffset;
    if (this.#applyQueued) return;
    this.#applyQueued = true;
    const wait = this.#lastApplyAt + APPLY_EVERY_MS - performance.now();
    if (wait <= 0) this.#queueApply();
    else this.#applyTimer = setTimeout(() => this.#queueApply(), wait);
  }

  /** One store transaction for every acked write so far, after the store operations before it. */
  #queueApply(): void {
    this.#applyTimer = undefined;
    this.#chain(async () => {
      this.#applyQueued = false;
      this.#lastApplyAt = performance.now();
      const todo = this.#toApply;
      this.#toApply = new Map();
      await this.#store!.apply([...todo].map(([k, w]) => [k, w.value] as const), this.#toApplyCheckpoint);
      for (const [k, w] of todo) {
        if (this.#overlay.get(k)?.batch === w.batch) this.#overlay.delete(k);
      }
    });
  }

  #onGet(seq: number, key: string): void {
    try {
      const o = this.#overlay.get(key);
      const v = o ? o.value : (this.#store?.get(key) ?? null);
      this.#post({ kind: 'get-result', seq, value: v === null ? null : v.slice() });
    } catch (err) {
      this.#post({ kind: 'get-result', seq, value: null, error: serializeError(err) });
    }
  }

  async #stop(seq: number): Promise<void> {
    if (this.#life.is('running', 'recovering', 'opening')) this.#life.to('stopping');
    if (this.#draining) await this.#draining; // finishes the record in hand, then sees 'stopping'
    if (this.#life.is('stopping')) {
      this.#flush();
      this.#life.to('stopped');
    }
    for (const seq of [...this.#visits.keys()]) this.#endVisit(seq, true);
    const dropped = this.#input.clear();
    this.#post({ kind: 'stopped', seq, dropped });
  }

  async #close(seq: number): Promise<void> {
    this.#closing = true;
    if (this.#applyTimer) {
      clearTimeout(this.#applyTimer);
      this.#queueApply(); // what was acked goes into the store before it closes
    }
    await this.#applying;
    for (const store of [...this.#stores.values(), ...[...this.#lookups.values()].flatMap((l) => (l.store ? [l.store] : []))]) {
      try {
        await store.close();
      } catch {
        // closing is best effort; the data is already committed
      }
    }
    if (this.#life.can('closed')) this.#life.to('closed');
    this.#post({ kind: 'closed', seq });
    this.#port.close();
  }

  #failRecord(rec: WireRecord, err: unknown): void {
    const cause = err instanceof FailSignal ? err.reason : err;
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const reason = err instanceof FailSignal ? `ctx.fail(${what})` : what;
    const pos = { group: this.group, topic: rec.topic, partition: this.partition, offset: String(rec.offset), key: keyString(rec.key) };
    this.#failWith(new ProcessingError(pos, reason, { cause }));
  }

  #failWith(err: unknown): void {
    if (this.#life.is('failed', 'closed')) return;
    this.#life.to('failed');
    this.#post({ kind: 'failed', error: serializeError(err) });
  }

  // ---- ContextHost: what callbacks reach through ctx ------------------------------------

  tableGet(key: string): unknown {
    const codec = this.#requirePersist('ctx.value()');
    const o = this.#overlay.get(key);
    const bytes = o ? o.value : this.#store!.get(key);
    if (bytes === null || bytes === undefined) return undefined;
    return decodeWith(codec, bytes);
  }

  tableSet(key: string, value: unknown | null, ts: number, options?: WriteOptions): void {
    const codec = this.#requirePersist(value === null ? 'ctx.delete()' : 'ctx.setValue()');
    // The usual write is to the key of the record in hand: its bytes are there already.
    const cur = this.#current;
    const kb = cur?.key && key === this.#currentKey ? cur.key : keyBytes(key);
    if (kb.byteLength > MAX_TABLE_KEY_BYTES) {
      throw new InvalidArgumentError(`table key of ${kb.byteLength} bytes is longer than LMDB allows (${MAX_TABLE_KEY_BYTES})`);
    }
    const bytes = value === null ? null : encodeWith(codec, value);
    const b = this.#batch;
    this.#overlay.set(key, { value: bytes, batch: b.id });
    b.tableWrites.push([key, bytes]);
    this.#writer.add({ kind: RecordKind.Table, topic: this.#init.tableTopic, partition: this.partition, offset: -1, timestamp: ts, key: kb, value: bytes, headers: options?.headers ? mergeHeaders(options.headers) : undefined });
  }

  emit(topic: string, key: string, value: unknown, ts: number, options?: EmitOptions): void {
    const codec = this.#outputs.get(topic);
    if (!codec) {
      throw new NotFoundError(`ctx.emit: '${topic}' is not a declared output of group '${this.group}' (add output('${topic}', codec))`);
    }
    this.#addOut(RecordKind.Emit, topic, codec, key, value, ts, options);
  }

  loopback(key: string, value: unknown, ts: number, options?: EmitOptions): void {
    if (!this.#loopCodec) throw new NotFoundError(`ctx.loopback: group '${this.group}' has no loop edge (add loop(codec, callback))`);
    this.#addOut(RecordKind.Loop, this.#init.loopTopic, this.#loopCodec, key, value, ts, options);
  }

  #addOut(kind: RecordKind, topic: string, codec: Codec<unknown>, key: string, value: unknown, ts: number, options?: EmitOptions): void {
    if (typeof key !== 'string') throw new InvalidArgumentError(`emit to '${topic}': key must be a string`);
    const bytes = value === null || value === undefined ? null : encodeWith(codec, value);
    this.#writer.add({
      kind,
      topic,
      partition: -1,
      offset: -1,
      timestamp: options?.timestamp ?? ts,
      key: keyBytes(key),
      value: bytes,
      headers: mergeHeaders(this.#defaultHeaders, options?.headers),
    });
  }

  defer(): (err?: unknown) => void {
    const b = this.#batch;
    const rec = this.#current;
    b.holds++;
    let called = false;
    return (err?: unknown) => {
      if (called) return;
      called = true;
      if (err !== undefined && err !== null && rec) {
        this.#failRecord(rec, err);
        return;
      }
      const sent = this.#sent.get(b.id);
      if (sent) {
        if (--sent.holds === 0) {
          this.#post({ kind: 'release', batch: b.id });
          if (sent.tableWrites.length === 0) this.#sent.delete(b.id);
        }
      } else if (this.#batch === b) {
        b.holds--; // released before its batch was flushed
      }
    };
  }

  joinGet(table: string, key: string): unknown {
    const codec = this.#joins.get(table);
    if (!codec) throw new NotFoundError(`ctx.join: '${table}' is not a joined table of group '${this.group}' (add join('${table}', codec))`);
    const bytes = this.#stores.get(table)!.get(key);
    return bytes === undefined ? undefined : decodeWith(codec, bytes);
  }

  lookupGet(table: string, key: string): unknown {
    const l = this.#lookups.get(table);
    if (!l) throw new NotFoundError(`ctx.lookup: '${table}' is not a looked-up table of group '${this.group}' (add lookup('${table}', codec))`);
    l.store ??= new SharedTableStore(l.path);
    const bytes = l.store.get(key);
    return bytes === undefined ? undefined : decodeWith(l.codec, bytes);
  }


  #requirePersist(what: string): Codec<unknown> {
    if (!this.#persist) throw new InvalidArgumentError(`${what}: group '${this.group}' has no group table (add persist(codec))`);
    return this.#persist;
  }

  get graph(): GroupGraph {
    return this.#graph;
  }
}
