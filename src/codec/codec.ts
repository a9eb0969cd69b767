import { createRequire } from 'node:module';
import type { Encoder } from 'cbor-x';
import { CodecError } from '../errors.js';

/** Turns values into bytes and back. `name` appears in error messages. */
export interface Codec<T> {
  readonly name?: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export type CodecValue<C> = C extends Codec<infer T> ? T : never;

import { decodeUtf8, encodeUtf8 } from './utf8.js';

function fail(codec: string, op: 'encode' | 'decode', reason: string, cause?: unknown): never {
  throw new CodecError(codec, op, reason, cause === undefined ? undefined : { cause });
}

const string: Codec<string> = {
  name: 'string',
  encode(v) {
    if (typeof v !== 'string') fail('string', 'encode', `expected a string, got ${typeof v}`);
    return encodeUtf8(v);
  },
  decode(b) {
    try {
      return decodeUtf8(b);
    } catch (err) {
      return fail('string', 'decode', `${b.byteLength} bytes are not valid UTF-8`, err);
    }
  },
};

const bytes: Codec<Uint8Array> = {
  name: 'bytes',
  encode(v) {
    if (!(v instanceof Uint8Array)) fail('bytes', 'encode', `expected a Uint8Array, got ${typeof v}`);
    return v;
  },
  decode(b) {
    return b;
  },
};

function json<T>(): Codec<T> {
  return {
    name: 'json',
    encode(v) {
      let text: string | undefined;
      try {
        text = JSON.stringify(v);
      } catch (err) {
        fail('json', 'encode', (err as Error).message, err);
      }
      if (text === undefined) fail('json', 'encode', `${typeof v} has no JSON representation`);
      return encodeUtf8(text);
    },
    decode(b) {
      try {
        return JSON.parse(decodeUtf8(b)) as T;
      } catch (err) {
        return fail('json', 'decode', `${b.byteLength} bytes are not JSON (${(err as Error).message})`, err);
      }
    },
  };
}

function cbor<T>(): Codec<T> {
  // Plain CBOR without shared record structures: every message must decode on its own,
  // in any process, after any restart.
  // Loaded when a cbor codec is made: every actor thread imports the codecs, few use this one.
  const { Encoder: CborEncoder } = createRequire(import.meta.url)('cbor-x') as { Encoder: typeof Encoder };
  const enc = new CborEncoder({ useRecords: false, mapsAsObjects: true });
  return {
    name: 'cbor',
    encode(v) {
      try {
        return enc.encode(v);
      } catch (err) {
        return fail('cbor', 'encode', (err as Error).message, err);
      }
    },
    decode(b) {
      if (b.byteLength === 0) fail('cbor', 'decode', 'empty input');
      try {
        return enc.decode(b) as T;
      } catch (err) {
        return fail('cbor', 'decode', `${b.byteLength} bytes are not CBOR (${(err as Error).message})`, err);
      }
    },
  };
}

const int64: Codec<bigint> = {
  name: 'int64',
  encode(v) {
    if (typeof v !== 'bigint') fail('int64', 'encode', `expected a bigint, got ${typeof v}`);
    if (v < -(2n ** 63n) || v >= 2n ** 63n) fail('int64', 'encode', `${v} does not fit in 64 bits`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigInt64(0, v, false);
    return out;
  },
  decode(b) {
    if (b.byteLength !== 8) fail('int64', 'decode', `expected 8 bytes, got ${b.byteLength}`);
    return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, false);
  },
};

export const codecs = {
  string,
  bytes,
  json,
  cbor,
  int64,
} as const;

export function codecName(c: Codec<unknown>): string {
  return c.name ?? 'custom';
}

/** Decodes with any codec; a user codec's plain throw becomes a CodecError naming it. */
export function decodeWith<T>(c: Codec<T>, b: Uint8Array): T {
  try {
    return c.decode(b);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError(codecName(c), 'decode', (err as Error)?.message ?? String(err), { cause: err });
  }
}

/** Encodes with any codec and checks the result really is bytes. */
export function encodeWith<T>(c: Codec<T>, v: T): Uint8Array {
  let out: unknown;
  try {
    out = c.encode(v);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError(codecName(c), 'encode', (err as Error)?.message ?? String(err), { cause: err });
  }
  if (!(out instanceof Uint8Array)) {
    throw new CodecError(codecName(c), 'encode', `encode returned ${typeof out}, not a Uint8Array`);
  }
  return out;
}

export function isCodec(c: unknown): c is Codec<unknown> {
  return typeof c === 'object' && c !== null && typeof (c as Codec<unknown>).encode === 'function' &&
    typeof (c as Codec<unknown>).decode === 'function';
}

export function keyBytes(key: string): Uint8Array {
  return encodeUtf8(key);
}
