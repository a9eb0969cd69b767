import type { Context, EmitOptions, WriteOptions } from '../../graph/context.js';
import type { Headers } from '../../headers.js';
import type { WireRecord } from '../wire.js';

/** What a RecordContext needs from its actor. */
export interface ContextHost {
  readonly group: string;
  readonly partition: number;
  tableGet(key: string): unknown;
  tableSet(key: string, value: unknown | null, ts: number, options?: WriteOptions): void;
  emit(topic: string, key: string, value: unknown, ts: number, options?: EmitOptions): void;
  loopback(key: string, value: unknown, ts: number, options?: EmitOptions): void;
  defer(): (err?: unknown) => void;
  joinGet(table: string, key: string): unknown;
  lookupGet(table: string, key: string): unknown;
}

/** Thrown by ctx.fail to unwind the callback; the actor turns it into a ProcessingError. */
export class FailSignal {
  constructor(readonly reason: unknown) {}
}

const EMPTY: Headers = Object.freeze({}) as Headers;

export class RecordContext implements Context {
  readonly group: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly headers: Readonly<Headers>;
  readonly #host: ContextHost;
  readonly #ts: number;
  #date: Date | undefined;

  constructor(host: ContextHost, key: string, rec: WireRecord) {
    this.#host = host;
    this.group = host.group;
    this.partition = host.partition;
    this.key = key;
    this.topic = rec.topic;
    this.offset = rec.offset;
    this.#ts = rec.timestamp;
    this.headers = rec.headers ?? EMPTY;
  }

  /** Made on first use: most callbacks never read it, and a Date per record shows in the profile. */
  get timestamp(): Date {
    return (this.#date ??= new Date(this.#ts));
  }

  value(): any {
    return this.#host.tableGet(this.key);
  }
  setValue(value: unknown, options?: WriteOptions): void {
    if (value === null || value === undefined) throw new TypeError('ctx.setValue needs a value; use ctx.delete() to remove a key');
    this.#host.tableSet(this.key, value, this.#ts, options);
  }
  delete(options?: WriteOptions): void {
    this.#host.tableSet(this.key, null, this.#ts, options);
  }
  emit(topic: string, key: string, value: unknown, options?: EmitOptions): void {
    this.#host.emit(topic, key, value, this.#ts, options);
  }
  loopback(key: string, value: unknown, options?: EmitOptions): void {
    this.#host.loopback(key, value, this.#ts, options);
  }
  join(table: string): unknown {
    return this.#host.joinGet(table, this.key);
  }
  lookup(table: string, key: string): unknown {
    return this.#host.lookupGet(table, key);
  }
  fail(err: unknown): never {
    throw new FailSignal(err);
  }
  deferCommit(): (err?: unknown) => void {
    return this.#host.defer();
  }
}
