import type { HeadersInit } from '../headers.js';
import type { Headers } from '../headers.js';

export interface WriteOptions {
  headers?: HeadersInit;
}

export interface EmitOptions extends WriteOptions {
  /** Record timestamp in ms; default: the input record's timestamp (as Kafka Streams does). */
  timestamp?: number;
}

/**
 * The types a group's declarations give its callbacks. `value` and `loop` are `never` when the
 * group has no persist or loop edge; the records map declared topic names to value types.
 */
export interface GroupSpec {
  readonly value: unknown;
  readonly outputs: Record<string, unknown>;
  readonly loop: unknown;
  readonly joins: Record<string, unknown>;
  readonly lookups: Record<string, unknown>;
  readonly visitors: Record<string, unknown>;
}

/** The spec of a graph whose declarations TypeScript cannot see (plain JS, callbacks inside the edge array). */
export type AnySpec = { readonly [K in keyof GroupSpec]: GroupSpec[K] extends Record<string, unknown> ? Record<string, any> : any };

/** The spec of a group loaded from a module URL whose type was not given: every read is `unknown`. */
export type UnknownSpec = GroupSpec;

/** No declarations yet. */
export interface EmptySpec extends GroupSpec {
  readonly value: never;
  readonly outputs: {};
  readonly loop: never;
  readonly joins: {};
  readonly lookups: {};
  readonly visitors: {};
}

/** A method that exists only when its edge was declared: calling it otherwise is a compile error. */
type IfDeclared<T, F> = [T] extends [never] ? never : F;
type Names<R> = keyof R & string;

/**
 * What a callback sees for one message. Only valid while the callback runs (for an async
 * callback: until its promise settles). `S` is the group's spec: what its edges declare.
 */
export interface Context<S extends GroupSpec = AnySpec> {
  readonly group: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: Date;
  readonly headers: Readonly<Headers>;
  /** This key's value in the group table, or undefined (needs persist()). */
  readonly value: IfDeclared<S['value'], () => S['value'] | undefined>;
  /** Writes this key's value: visible at once to this partition, in the changelog in order. */
  readonly setValue: IfDeclared<S['value'], (value: S['value'], options?: WriteOptions) => void>;
  /** Deletes this key from the group table (a tombstone in the changelog). */
  readonly delete: IfDeclared<S['value'], (options?: WriteOptions) => void>;
  /** Emits to a declared output topic; partitioned by the processor's hasher. */
  emit<Topic extends Names<S['outputs']>>(topic: Topic, key: string, value: S['outputs'][Topic] | null, options?: EmitOptions): void;
  /** Sends a message to this group's loop topic, processed by the loop callback (needs loop()). */
  readonly loopback: IfDeclared<S['loop'], (key: string, value: S['loop'], options?: EmitOptions) => void>;
  /** The value of this key in a joined table (same partition). */
  join<Table extends Names<S['joins']>>(table: Table): S['joins'][Table] | undefined;
  /** The value of any key in a looked-up table. */
  lookup<Table extends Names<S['lookups']>>(table: Table, key: string): S['lookups'][Table] | undefined;
  /** Fails the processor: nothing after this message is committed. */
  fail(err: unknown): never;
  /** Holds the commit of this message until the returned function is called (with an error: fail). */
  deferCommit(): (err?: unknown) => void;
}
