// The in-memory Kafka of partita/tester, without a broker: the ports on their own, then
// partita's real runtime (a counting processor, in-thread) running on it.
import test from 'ava';
import { pino } from 'pino';
import { Processor, TopicError, codecs, defineGroup, hashers, input, persist, type GroupHandlers, type KafkaRecord } from '../src/index.js';
import { MemoryKafka } from '../src/tester/memory-kafka.js';
import { unique, waitFor } from './helpers.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const str = (b: Uint8Array | null) => (b === null ? null : text.decode(b));
const logger = pino({ level: 'silent' });
const client = (mk: MemoryKafka, clientId = 'test') => mk.client({ brokers: ['memory'], clientId, logger, brokerOutageMs: 1000, connectTimeoutMs: 1000 });
const rec = (topic: string, partition: number, value: string, key = 'k') => ({ topic, partition, key: utf8.encode(key), value: utf8.encode(value) });

/** Group handlers that record assignments and deliveries (partition → offsets). */
function recorder() {
  const assignments: number[][] = [];
  const got = new Map<number, number[]>();
  const handlers: GroupHandlers = {
    onAssignment: (parts) => assignments.push(parts),
    onBatch: (_topic, partition, chunk) => {
      const list = got.get(partition) ?? [];
      list.push(...chunk.records!.map((r) => r.offset));
      got.set(partition, list);
    },
    onFatal: (err) => {
      throw err;
    },
  };
  return { assignments, got, handlers };
}

test('produce and read back in order, with offsets, acks and watermarks', async (t) => {
  const mk = new MemoryKafka();
  mk.createTopic('t', 2);
  const c = client(mk);
  const producer = c.producer();
  const acks = await producer.send([rec('t', 0, 'a'), rec('t', 1, 'x'), rec('t', 0, 'b'), rec('t', 0, 'c')]);
  t.deepEqual(acks, [{ topic: 't', partition: 0, baseOffset: 0 }, { topic: 't', partition: 1, baseOffset: 0 }]);
  t.deepEqual(await producer.send([rec('t', 1, 'y'), rec('t', 0, 'd')]), [{ topic: 't', partition: 1, baseOffset: 1 }, { topic: 't', partition: 0, baseOffset: 3 }]);
  await t.throwsAsync(producer.send([rec('t', 0, 'e'), rec('nope', 0, 'z')]), { instanceOf: TopicError });
  t.is(mk.endOffset('t', 0), 4, 'a failed send appends nothing');

  const reader = c.reader();
  t.deepEqual(await reader.watermarks('t', 0), { low: 0, high: 4 });
  const read: KafkaRecord[] = [];
  for await (const chunk of reader.read('t', 0, { from: 1, to: 10 })) read.push(...chunk.records!);
  t.deepEqual(read.map((r) => [r.offset, str(r.value)]), [[1, 'b'], [2, 'c'], [3, 'd']]);
  t.true(read.every((r) => typeof r.timestamp === 'number' && r.timestamp > 0 && str(r.key) === 'k'));
  t.deepEqual(mk.records('t').map((p) => p.map((r) => str(r.value))), [['a', 'b', 'c', 'd'], ['x', 'y']]);

  const admin = c.admin();
  t.deepEqual(await admin.partitionCounts(['t', 'nope']), new Map([['t', 2]]));
  await admin.createTopic({ topic: 'tbl', partitions: 3, replication: 1, config: { 'cleanup.policy': 'compact' } });
  await admin.createTopic({ topic: 'tbl', partitions: 3, replication: 1, config: {} });
  t.is((await admin.describeConfig('tbl'))['cleanup.policy'], 'compact');
  t.is((await admin.describeConfig('t'))['cleanup.policy'], 'delete');
  t.false(c.isDown());
});

test('follow mode sees later appends and ends on abort', async (t) => {
  const mk = new MemoryKafka();
  mk.createTopic('f', 1);
  const c = client(mk);
  const producer = c.producer();
  await producer.send([rec('f', 0, 'early')]);
  const ac = new AbortController();
  const seen: string[] = [];
  const following = (async () => {
    for await (const chunk of c.reader().read('f', 0, { from: 0, signal: ac.signal })) seen.push(...chunk.records!.map((r) => str(r.value)!));
  })();
  await waitFor('the early record', () => seen.length === 1, 5000, 5);
  await producer.send([rec('f', 0, 'late1'), rec('f', 0, 'late2')]);
  await waitFor('the late records', () => seen.length === 3, 5000, 5);
  t.deepEqual(seen, ['early', 'late1', 'late2']);
  ac.abort();
  await following; // ends without a timer: the abort wakes it
  t.pass();
});

test('two members of one group split 6 partitions 3/3, re-balance on stop, resume from committed offsets', async (t) => {
  const mk = new MemoryKafka();
  mk.createTopic('in', 6);
  const c = client(mk);
  await c.producer().send(Array.from({ length: 12 }, (_, i) => rec('in', i % 6, `v${i}`)));
  const opts = { groupId: 'g', topics: ['in'], sessionTimeoutMs: 1000, stopTimeoutMs: 1000 };
  const a = c.groupMember(opts);
  const b = c.groupMember(opts);
  const ra = recorder();
  const rb = recorder();
  await a.start(ra.handlers);
  t.deepEqual(ra.assignments, [[0, 1, 2, 3, 4, 5]]);
  await b.start(rb.handlers);
  t.deepEqual(ra.assignments.at(-1), [0, 1, 2]);
  t.deepEqual(rb.assignments, [[3, 4, 5]]);
  const g = await c.admin().describeGroup('g');
  t.is(g.members.length, 2);
  t.true(g.members.every((m) => m.clientId === 'test'));

  await mk.idle();
  for (const p of [0, 1, 2]) t.deepEqual(ra.got.get(p), [0, 1]);
  for (const p of [3, 4, 5]) t.deepEqual(rb.got.get(p), [0, 1]);
  t.is(ra.got.get(3), undefined, 'a never got b\'s partitions');

  t.true(await a.commit([0, 1, 2].map((p) => ({ topic: 'in', partition: p, offset: 2 }))));
  t.true(await b.commit([{ topic: 'in', partition: 3, offset: 1 }]));
  t.is(mk.committed('g', 'in', 3), 1);
  ra.got.clear();
  await b.stop();
  t.false(await b.commit([{ topic: 'in', partition: 4, offset: 2 }]), 'not a member any more');
  t.deepEqual(ra.assignments.at(-1), [0, 1, 2, 3, 4, 5]);
  await mk.idle();
  // From the committed offsets: nothing again of 0–2, offset 1 of 3, everything of 4 and 5.
  t.deepEqual([...ra.got].sort(([x], [y]) => x - y), [[3, [1]], [4, [0, 1]], [5, [0, 1]]]);
  t.deepEqual((await c.admin().describeGroup('g')).members.length, 1);
  await a.stop();
  t.is((await c.admin().describeGroup('g')).state, 'Empty');
});

test('pause holds delivery until resume; idle() does not wait for paused partitions', async (t) => {
  const mk = new MemoryKafka();
  mk.createTopic('p', 2);
  const c = client(mk);
  const m = c.groupMember({ groupId: 'gp', topics: ['p'], sessionTimeoutMs: 1000, stopTimeoutMs: 1000 });
  const r = recorder();
  await m.start(r.handlers);
  m.pause(0);
  await c.producer().send([rec('p', 0, 'a'), rec('p', 1, 'b'), rec('p', 0, 'c')]);
  await mk.idle();
  t.is(r.got.get(0), undefined);
  t.deepEqual(r.got.get(1), [0]);
  m.resume(0);
  await mk.idle();
  t.deepEqual(r.got.get(0), [0, 1]);
  await m.stop();
});

test('idle() resolves once every record was handed over, in order, over several batches', async (t) => {
  const mk = new MemoryKafka();
  mk.createTopic('big', 1);
  const c = client(mk);
  const m = c.groupMember({ groupId: 'gb', topics: ['big'], sessionTimeoutMs: 1000, stopTimeoutMs: 1000 });
  const r = recorder();
  let batches = 0;
  await m.start({ ...r.handlers, onBatch: (...args) => (batches++, r.handlers.onBatch(...args)) });
  const producer = c.producer();
  for (let i = 0; i < 3; i++) await producer.send(Array.from({ length: 700 }, (_, j) => rec('big', 0, `${i}-${j}`)));
  t.is(r.got.get(0), undefined, 'nothing is delivered inside send()');
  await mk.idle();
  t.deepEqual(r.got.get(0), Array.from({ length: 2100 }, (_, i) => i));
  t.true(batches >= 2, `${batches} batches`);
  await m.stop();
  await mk.idle(); // nothing pending: resolves at once
});

/** A group counting records per key in its table. */
function counting(group: string, topic: string) {
  return defineGroup(group, [
    input(topic, codecs.string, (ctx) => {
      ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1);
    }),
    persist(codecs.json<number>()),
  ]);
}

test("partita's runtime runs on it: a counting processor, in-thread, memory storage", async (t) => {
  const mk = new MemoryKafka();
  const group = unique('mcount');
  const topic = unique('clicks');
  mk.createTopic(topic, 4);
  const graph = counting(group, topic);
  const p = new Processor({ brokers: ['memory'], group: graph, workers: 0, storage: 'memory', kafkaClient: mk.client, commitIntervalMs: 10, logger });
  const done = p.run();
  t.teardown(() => p.stop());
  await Promise.race([p.ready(), done]);

  const expected = new Map<string, number>();
  const records = Array.from({ length: 100 }, (_, i) => {
    const key = `user-${i % 7}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    const k = utf8.encode(key);
    return { topic, partition: hashers.murmur2(k, 4), key: k, value: utf8.encode('click') };
  });
  await client(mk).producer().send(records);

  await waitFor('every count', async () => {
    for (const [k, n] of expected) if ((await p.get(k)) !== n) return false;
    return true;
  }, 10_000, 10);

  // The changelog: the last record per key is its count, in the key's partition.
  const table = mk.records(`${group}-table`);
  t.is(table.length, 4);
  const last = new Map<string, number>();
  table.forEach((part, partition) => {
    for (const r of part) {
      const key = str(r.key)!;
      t.is(hashers.murmur2(r.key!, 4), partition);
      last.set(key, JSON.parse(str(r.value)!) as number);
    }
  });
  t.deepEqual(new Map([...last].sort()), new Map([...expected].sort()));
  t.is((await client(mk).admin().describeConfig(`${group}-table`))['cleanup.policy'], 'compact');

  await p.stop();
  await done;
  // A clean stop commits everything processed.
  for (let q = 0; q < 4; q++) t.is(mk.committed(group, topic, q) ?? 0, mk.endOffset(topic, q), `partition ${q} committed to its end`);
});

test('two processors of one group split the partitions; when one stops the other takes over with exact counts', async (t) => {
  const mk = new MemoryKafka();
  const group = unique('mpair');
  const topic = unique('clicks');
  mk.createTopic(topic, 4);
  const graph = counting(group, topic);
  const assignments: Record<string, number[][]> = { a: [], b: [] };
  const start = (name: 'a' | 'b') => {
    const p = new Processor({
      brokers: ['memory'], group: graph, workers: 0, storage: 'memory', kafkaClient: mk.client, commitIntervalMs: 10, logger,
      clientId: name, onRebalance: ({ partitions }) => assignments[name]!.push(partitions),
    });
    const done = p.run();
    t.teardown(() => p.stop());
    return { p, done };
  };
  const a = start('a');
  await a.p.ready();
  const b = start('b');
  await b.p.ready();
  t.deepEqual(assignments['a']!.at(-1), [0, 1]);
  t.deepEqual(assignments['b']!.at(-1), [2, 3]);

  const expected = new Map<string, number>();
  const producer = client(mk).producer();
  const emit = async (n: number) => {
    const records = Array.from({ length: n }, (_, i) => {
      const key = `user-${i % 9}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
      const k = utf8.encode(key);
      return { topic, partition: hashers.murmur2(k, 4), key: k, value: utf8.encode('click') };
    });
    await producer.send(records);
  };
  const owner = (key: string, ps: Processor<any>[]) => ps[hashers.murmur2(utf8.encode(key), 4) < 2 ? 0 : 1]!;
  await emit(90);
  await waitFor('counts on both', async () => {
    for (const [k, n] of expected) if ((await owner(k, [a.p, b.p]).get(k)) !== n) return false;
    return true;
  }, 10_000, 10);

  await b.p.stop();
  await b.done;
  t.deepEqual(assignments['a']!.at(-1), [0, 1, 2, 3]);
  await a.p.ready(); // partitions 2 and 3 recovered from b's changelog
  await emit(90);
  await waitFor('counts on the survivor', async () => {
    for (const [k, n] of expected) if ((await a.p.get(k)) !== n) return false;
    return true;
  }, 10_000, 10);
  t.pass();
  await a.p.stop();
  await a.done;
});
