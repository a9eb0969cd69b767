// A read-only local copy of every partition of a table, kept up to date (Goka's View). Each
// partition is a PartitionTable over a local store: restored from its checkpoint to the
// high-water mark (all partitions in parallel), then followed until the view stops. The stores
// keep their checkpoint with their data, so a restarted view reads only what came since.
import { resolve as resolvePath } from 'node:path';
import { decodeWith, keyBytes, type Codec } from './codec/codec.js';
import { BrokerUnavailableError, InvalidArgumentError, StateError, TopicError } from './errors.js';
import { checkBrokers } from './kafka/brokers.js';
import { hashers, type Hasher } from './hashers.js';
import { clientFactory } from './kafka/default-client.js';
import type { KafkaClient, KafkaClientFactory, ReaderPort } from './kafka/ports.js';
import { defaultLogger, type Logger } from './logger.js';
import { Lifecycle, VIEW_TRANSITIONS, type ViewState } from './runtime/lifecycle.js';
import { openStore } from './storage/open.js';
import type { PartitionStore, StorageSpec } from './storage/storage.js';
import { delay } from './kafka/broker-health.js';
import { PartitionTable, storeSink, type RecoveryStats, type TableSink } from './table/partition-table.js';
import type { TableUpdate, UpdateCallback } from './table/update.js';

export type { ViewState };

/** What the view stores for one changelog record: Goka's update callback. */
export type ViewUpdate<T> = TableUpdate<T>;

export interface ViewOptions<T> {
  brokers: string[];
  /** The table topic (e.g. `<group>-table`). */
  table: string;
  codec: Codec<T>;
  hasher?: Hasher;
  storage?: 'lmdb' | 'memory';
  /** Default ./.partita/views/<table>. */
  storagePath?: string;
  /**
   * Keep running through Kafka errors of any length: the view reports 'connecting', serves its
   * last values and reconnects with backoff. Without it, an outage longer than brokerOutageMs
   * rejects run().
   */
  autoReconnect?: boolean;
  logger?: Logger;
  clientId?: string;
  brokerOutageMs?: number;
  connectTimeoutMs?: number;
  /** What to store for a changelog record: return the value, null to delete (default: the record's value). */
  onUpdate?: (update: ViewUpdate<T>) => T | null;
  kafkaClient?: KafkaClientFactory;
}

export interface ViewPartitionStats {
  partition: number;
  state: ViewState;
  /** Next changelog offset to read. */
  position: number;
  highWatermark: number | null;
  /** Records behind the high-water mark last seen (null: unknown yet). */
  lag: number | null;
  keys: number;
  recovery: RecoveryStats | null;
  /** Records applied while following, after the restore. */
  followed: number;
}

export interface ViewStats {
  table: string;
  state: ViewState;
  partitions: ViewPartitionStats[];
  error: { name: string; message: string; code?: string } | null;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/** A table partition of the view: its store, its feed, and its own state. */
class ViewPartition {
  state: ViewState = 'initializing';
  /** Key count when the store was closed (it cannot be asked after). */
  keysAtClose: number | undefined;
  readonly table: PartitionTable;
  constructor(readonly partition: number, readonly store: PartitionStore, reader: ReaderPort, topic: string, sink: TableSink, log: Logger) {
    this.table = new PartitionTable({ reader, topic, partition, sink, log });
  }
}

export class View<T> {
  readonly table: string;
  readonly #o: ViewOptions<T>;
  readonly #codec: Codec<T>;
  readonly #hasher: Hasher;
  readonly #log: Logger;
  readonly #spec: StorageSpec;
  readonly life = new Lifecycle<ViewState>('view', 'idle', VIEW_TRANSITIONS);
  #client: KafkaClient | undefined;
  readonly #readers: ReaderPort[] = [];
  #parts: ViewPartition[] = [];
  #running: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #error: Error | undefined;

  constructor(opts: ViewOptions<T>) {
    if (!opts) throw new InvalidArgumentError('View: options are required');
    checkBrokers('View', opts.brokers, opts.kafkaClient !== undefined);
    if (!opts.table) throw new InvalidArgumentError('View: table is required');
    if (!opts.codec) throw new InvalidArgumentError(`View(${opts.table}): codec is required`);
    if (opts.storage !== undefined && opts.storage !== 'lmdb' && opts.storage !== 'memory') {
      throw new InvalidArgumentError(`View(${opts.table}): storage must be 'lmdb' or 'memory', got ${String(opts.storage)}`);
    }
    this.#o = opts;
    this.table = opts.table;
    this.#codec = opts.codec;
    this.#hasher = opts.hasher ?? hashers.murmur2;
    this.#log = (opts.logger ?? defaultLogger('partita')).child({ view: opts.table });
    this.#spec = opts.storage === 'memory' ? { kind: 'memory' } : { kind: 'lmdb', path: resolvePath(opts.storagePath ?? `./.partita/views/${opts.table}`) };
  }

  /** The lowest state over the partitions; 'connecting' while Kafka does not answer. */
  get state(): ViewState {
    const s = this.life.state;
    if (s !== 'running' && s !== 'catching-up') return s;
    if (this.#client?.isDown()) return 'connecting';
    const order: ViewState[] = ['initializing', 'connecting', 'catching-up', 'running'];
    let low = 'running' as ViewState;
    for (const p of this.#parts) if (order.indexOf(p.state) < order.indexOf(low)) low = p.state;
    return low;
  }

  /** Recovers every partition, then follows the table until `signal` aborts or stop(). Single use. */
  run(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#running) throw new InvalidArgumentError(`View(${this.table}): run() was already called`);
    const signal = options.signal;
    if (signal?.aborted) this.#stop.abort();
    signal?.addEventListener('abort', () => this.#stop.abort(), { once: true });
    this.#running = this.#run().finally(() => this.#close());
    return this.#running;
  }

  async #run(): Promise<void> {
    this.life.to('initializing');
    const o = this.#o;
    this.#client = (await clientFactory(o.kafkaClient))({
      brokers: o.brokers,
      clientId: o.clientId ?? `partita-view-${o.table}`,
      logger: this.#log,
      brokerOutageMs: o.brokerOutageMs ?? 60_000,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    });
    const admin = this.#client.admin();
    let n: number | undefined;
    try {
      n = (await admin.partitionCounts([o.table])).get(o.table);
    } catch (err) {
      this.#error = err as Error;
      throw err;
    } finally {
      await admin.close();
    }
    if (n === undefined) {
      this.#error = new TopicError(o.table, `View: table topic '${o.table}' not found`);
      throw this.#error;
    }
    for (let p = 0; p < n; p++) {
      const store = openStore(this.#spec, o.table, p);
      // A reader (connection) per partition: fetches of one reader go one at a time, and a
      // follower's long poll would hold up the other partitions.
      const reader = this.#client.reader();
      this.#readers.push(reader);
      this.#parts.push(new ViewPartition(p, store, reader, o.table, this.#sink(p, store), this.#log));
    }
    this.life.to('catching-up');
    const all = this.#parts.map((part) => this.#runPartition(part));
    const failed = await Promise.allSettled(all);
    const err = failed.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (err) {
      this.#error = err.reason as Error;
      throw this.#error;
    }
  }

  /** Restore, then follow; with autoReconnect a Kafka failure goes back to connecting and retries. */
  async #runPartition(part: ViewPartition): Promise<void> {
    const signal = this.#stop.signal;
    let backoff = RECONNECT_MIN_MS;
    for (;;) {
      try {
        part.state = 'catching-up';
        if (!part.table.recovery) await part.table.restore(signal);
        else await part.table.catchUp(signal);
        part.state = 'running';
        this.#checkRunning();
        backoff = RECONNECT_MIN_MS;
        await part.table.follow(signal);
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (!this.#o.autoReconnect || !(err instanceof BrokerUnavailableError)) {
          this.#stop.abort(); // one partition's failure ends the view
          throw err;
        }
        part.state = 'connecting';
        this.#log.warn({ partition: part.partition, err: err.message, retryInMs: backoff }, 'view partition lost Kafka; reconnecting');
        await Promise.race([delay(backoff), new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
        if (signal.aborted) return;
        backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
      }
    }
  }

  #checkRunning(): void {
    if (this.life.is('catching-up') && this.#parts.every((p) => p.state === 'running')) {
      this.life.to('running');
      this.#log.info({ partitions: this.#parts.length, recoveredRecords: this.#parts.reduce((s, p) => s + (p.table.recovery?.records ?? 0), 0) }, 'view recovered and following');
    }
  }

  #sink(partition: number, store: PartitionStore): TableSink {
    const onUpdate = this.#o.onUpdate as UpdateCallback<unknown> | undefined;
    return storeSink(store, partition, onUpdate && { codec: this.#codec as Codec<unknown>, onUpdate });
  }

  /** Resolves once every partition is recovered to its high-water mark; rejects if run() fails first. */
  async ready(): Promise<void> {
    if (!this.#running) throw new InvalidArgumentError(`View(${this.table}): call run() before ready()`);
    const running = this.life.waitFor('running', 'stopped', 'failed');
    const s = await Promise.race([running, this.#running.then(() => this.life.state, (err: unknown) => { throw err; })]);
    if (s !== 'running' && s !== 'catching-up') throw this.#error ?? new StateError(`View(${this.table}): ${s} before it was ready`);
  }

  #partitionOf(key: string, what: string): ViewPartition {
    if (this.life.is('idle', 'initializing') || this.#parts.length === 0) {
      throw new StateError(`View(${this.table}).${what}: the view is ${this.life.state}; call run() and wait for ready()`);
    }
    if (this.life.is('stopped', 'failed')) throw new StateError(`View(${this.table}).${what}: the view is ${this.life.state}`);
    return this.#parts[this.#hasher(keyBytes(key), this.#parts.length)]!;
  }

  /** The key's value, or undefined. Allowed (possibly stale) while connecting or catching up. */
  async get(key: string): Promise<T | undefined> {
    const bytes = this.#partitionOf(key, 'get').store.get(key);
    return bytes === undefined ? undefined : decodeWith(this.#codec, bytes);
  }

  async has(key: string): Promise<boolean> {
    return this.#partitionOf(key, 'has').store.get(key) !== undefined;
  }

  /** Deletes a key locally only (not in Kafka, not in other views), as Goka's Evict. */
  async evict(key: string): Promise<void> {
    const part = this.#partitionOf(key, 'evict');
    await part.store.apply([[key, null]], part.store.checkpoint() ?? -1);
  }

  /** Every key in global key order, within the half-open range [start, end). */
  async *entries(range: { start?: string; end?: string } = {}): AsyncGenerator<[string, T]> {
    if (this.#parts.length === 0) throw new StateError(`View(${this.table}).entries: the view is ${this.life.state}; call run() and wait for ready()`);
    const iters = this.#parts.map((p) => p.store.entries(range)[Symbol.iterator]());
    const heads = iters.map((it) => it.next());
    for (;;) {
      let min = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && (min < 0 || h.value[0] < (heads[min]!.value as [string, Uint8Array])[0])) min = i;
      }
      if (min < 0) return;
      const [k, v] = heads[min]!.value as [string, Uint8Array];
      heads[min] = iters[min]!.next();
      yield [k, decodeWith(this.#codec, v)];
    }
  }

  stats(): ViewStats {
    return {
      table: this.table,
      state: this.state,
      partitions: this.#parts.map((p) => {
        const hwm = p.table.highWatermark ?? null;
        return {
          partition: p.partition,
          state: this.#client?.isDown() && p.state === 'running' ? 'connecting' : p.state,
          position: p.table.position,
          highWatermark: hwm,
          lag: hwm === null ? null : Math.max(0, hwm - p.table.position),
          keys: p.keysAtClose ?? p.store.count(),
          recovery: p.table.recovery ?? null,
          followed: p.table.followed,
        };
      }),
      error: this.#error ? { name: this.#error.name, message: this.#error.message, ...((this.#error as { code?: string }).code ? { code: (this.#error as { code?: string }).code! } : {}) } : null,
    };
  }

  /** Stops following and closes the stores; run() resolves. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running?.catch(() => undefined);
  }

  async #close(): Promise<void> {
    await Promise.all(this.#readers.map((r) => r.close().catch(() => undefined)));
    for (const p of this.#parts) {
      p.state = 'stopped';
      p.keysAtClose = p.store.count();
      await p.store.close().catch(() => undefined);
    }
    this.life.to(this.#error ? 'failed' : 'stopped');
  }
}
