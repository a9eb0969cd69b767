import test from 'ava';
import { codecs, CodecError, type Codec } from '../src/index.js';
import { decodeWith, encodeWith } from '../src/codec/codec.js';

const roundTrip = <T>(c: Codec<T>, v: T): T => c.decode(c.encode(v));

test('built-in codecs round-trip their values', (t) => {
  t.is(roundTrip(codecs.string, 'héllo ✓'), 'héllo ✓');
  t.deepEqual(roundTrip(codecs.bytes, new Uint8Array([0, 1, 255])), new Uint8Array([0, 1, 255]));
  t.deepEqual(roundTrip(codecs.json<{ a: number[] }>(), { a: [1, 2] }), { a: [1, 2] });
  t.deepEqual(roundTrip(codecs.cbor<{ n: number; s: string; b: Uint8Array }>(), { n: 1.5, s: 'x', b: new Uint8Array([7]) }).s, 'x');
  t.is(roundTrip(codecs.int64, -(2n ** 63n)), -(2n ** 63n));
  t.is(roundTrip(codecs.int64, 2n ** 63n - 1n), 2n ** 63n - 1n);
});

test('int64 is 8 bytes big-endian', (t) => {
  t.deepEqual([...codecs.int64.encode(258n)], [0, 0, 0, 0, 0, 0, 1, 2]);
  t.deepEqual([...codecs.int64.encode(-1n)], [255, 255, 255, 255, 255, 255, 255, 255]);
});

test('decoding bad bytes throws a CodecError naming the codec and the reason', (t) => {
  const bad = new Uint8Array([0xff, 0xfe, 0x00]);
  const cases: [Codec<unknown>, RegExp][] = [
    [codecs.string, /codec string cannot decode: 3 bytes are not valid UTF-8/],
    [codecs.json(), /codec json cannot decode: 3 bytes are not/],
    [codecs.int64 as Codec<unknown>, /codec int64 cannot decode: expected 8 bytes, got 3/],
    [codecs.cbor(), /codec cbor cannot decode/],
  ];
  for (const [c, msg] of cases) {
    const err = t.throws(() => c.decode(bad), { instanceOf: CodecError, message: msg });
    t.is(err?.code, 'PARTITA_CODEC');
    t.is(err?.operation, 'decode');
  }
});

test('encoding a wrong type throws a CodecError', (t) => {
  t.throws(() => codecs.int64.encode(5 as unknown as bigint), { instanceOf: CodecError, message: /expected a bigint/ });
  t.throws(() => codecs.string.encode(5 as unknown as string), { instanceOf: CodecError, message: /expected a string/ });
  t.throws(() => codecs.json().encode(undefined), { instanceOf: CodecError, message: /no JSON representation/ });
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  t.throws(() => codecs.json().encode(cyclic), { instanceOf: CodecError });
});

test('a user codec that throws is wrapped in a CodecError with the original as cause', (t) => {
  const boom = new Error('nope');
  const custom: Codec<string> = { name: 'mine', encode: () => { throw boom; }, decode: () => { throw boom; } };
  const d = t.throws(() => decodeWith(custom, new Uint8Array(1)), { instanceOf: CodecError, message: /codec mine cannot decode: nope/ });
  t.is(d?.cause, boom);
  t.throws(() => encodeWith(custom, 'x'), { instanceOf: CodecError, message: /codec mine cannot encode/ });
  const notBytes = { encode: () => 'str', decode: () => '' } as unknown as Codec<string>;
  t.throws(() => encodeWith(notBytes, 'x'), { instanceOf: CodecError, message: /codec custom cannot encode: encode returned string/ });
});
