import test from 'ava';
import kafkajs from 'kafkajs';
import { fnv1a32, hashers, murmur2Hash } from '../src/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

test('murmur2 equals the Java client (Utils.murmur2 test vectors)', (t) => {
  t.is(murmur2Hash(bytes('21')), -973932308);
  t.is(murmur2Hash(bytes('foobar')), -790332482);
  t.is(murmur2Hash(bytes('a-little-bit-long-string')), -985981536);
  t.is(murmur2Hash(bytes('a-little-bit-longer-string')), -1486304829);
  t.is(murmur2Hash(bytes('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
  t.is(murmur2Hash(bytes('abc')), 479470107);
});

test('murmur2 partitioner: foobar over 12 partitions is 6, and it agrees with kafkajs', (t) => {
  t.is(hashers.murmur2(bytes('foobar'), 12), 6);
  const kafkajsPartitioner = kafkajs.Partitioners.DefaultPartitioner();
  for (let i = 0; i < 2000; i++) {
    const key = `key-${i}-${'x'.repeat(i % 7)}`;
    const n = 1 + (i % 31);
    const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    t.is(hashers.murmur2(bytes(key), n), kafkajsPartitioner({ topic: 't', partitionMetadata, message: { key, value: null } }), key);
  }
});

test("goka hasher equals Goka's FNV-1a formula", (t) => {
  t.is(hashers.goka(bytes('key1'), 2), 1);
  t.is(hashers.goka(bytes('key2'), 2), 0);
  t.is(hashers.goka(bytes('0'), 10), 3);
  t.is(hashers.goka(bytes('02'), 10), 3);
  t.is(hashers.goka(bytes(''), 10), 5);
  t.is(hashers.goka(bytes('some-key'), 10), 7);
  t.is(hashers.goka(bytes('user-0'), 6), 1);
  t.is(hashers.goka(bytes('a'), 3), 0);
  t.is(fnv1a32(bytes('')), 2166136261);
});

test('hashers always return a partition in range', (t) => {
  for (let i = 0; i < 5000; i++) {
    const k = bytes(`k${i * 7919}`);
    for (const n of [1, 2, 3, 12, 100]) {
      for (const h of [hashers.murmur2, hashers.goka]) {
        const p = h(k, n);
        t.true(p >= 0 && p < n && Number.isInteger(p));
      }
    }
  }
});
