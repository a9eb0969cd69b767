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
 * What a callback sees for one message. Only valid while the callback runs (for an async
 * callback: until its promise settles).
 */
export interface Context<V = any> {
  readonly group: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: Date;
  readonly headers: Readonly<Headers>;
  /** This key's value in the group table, or undefined. */
  value(): V | undefined;
  /** Writes this key's value: visible at once to this partition, in the changelog in order. */
  setValue(value: V, options?: WriteOptions): void;
  /** Deletes this key from the group table (a tombstone in the changelog). */
  delete(options?: WriteOptions): void;
  /** Emits to a declared output topic; partitioned by the processor's hasher. */
  emit(topic: string, key: string, value: unknown, options?: EmitOptions): void;
  /** Sends a message to this group's loop topic, processed by the loop callback. */
  loopback(key: string, value: unknown, options?: EmitOptions): void;
  /** The value of this key in a joined table (same partition). */
  join(table: string): unknown;
  /** The value of any key in a looked-up table. */
  lookup(table: string, key: string): unknown;
  /** Fails the processor: nothing after this message is committed. */
  fail(err: unknown): never;
  /** Holds the commit of this message until the returned function is called (with an error: fail). */
  deferCommit(): (err?: unknown) => void;
}
