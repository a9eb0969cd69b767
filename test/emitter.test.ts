import test from 'ava';
import { Emitter, EmitterClosedError, CodecError, TopicError, codecs, hashers } from '../src/index.js';
import { brokers, createTopics, readTopic, unique } from './helpers.js';

test('emits 10,000 keyed messages; each is read back from the partition the hasher chose', async (t) => {
  const topic = unique('emit10k');
  await createTopics([{ topic, partitions: 6 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.json<{ i: number }>(), defaultHeaders: { source: 'test' } });
  const n = 10_000;
  await Promise.all(Array.from({ length: n }, (_, i) => emitter.emit(`key-${i % 997}`, { i }, i === 0 ? { headers: { first: 'yes' } } : {})));
  await emitter.close();

  const records = await readTopic(topic, n);
  t.is(records.length, n);
  const seen = new Set<number>();
  const lastPerKey = new Map<string, number>();
  for (const r of records) {
    t.is(r.partition, hashers.murmur2(new TextEncoder().encode(r.key), 6), `key ${r.key}`);
    const { i } = JSON.parse(r.value!.toString()) as { i: number };
    seen.add(i);
    t.is(r.headers['source'], 'test');
    if (i === 0) t.is(r.headers['first'], 'yes');
    // emits of one key keep their order
    t.true((lastPerKey.get(r.key) ?? -1) < i);
    lastPerKey.set(r.key, i);
  }
  t.is(seen.size, n);
});

test('close() waits for pending emits; emitting afterwards rejects clearly', async (t) => {
  const topic = unique('emitclose');
  await createTopics([{ topic, partitions: 2 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  let acked = 0;
  const pending = Array.from({ length: 500 }, (_, i) => emitter.emit(`k${i}`, `v${i}`).then(() => acked++));
  await emitter.close();
  t.is(acked, 500);
  await Promise.all(pending);
  await t.throwsAsync(emitter.emit('k', 'v'), { instanceOf: EmitterClosedError, message: new RegExp(`emitter for topic '${topic}' is closed`) });
});

test('an encode error rejects without sending anything; a missing topic is named', async (t) => {
  const topic = unique('emitbad');
  await createTopics([{ topic, partitions: 1 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.int64 });
  await t.throwsAsync(emitter.emit('k', 'not a bigint' as unknown as bigint), { instanceOf: CodecError, message: /int64 cannot encode/ });
  await emitter.emit('k', 7n);
  await emitter.close();
  const records = await readTopic(topic, 1);
  t.is(records.length, 1);
  t.deepEqual([...records[0]!.value!], [0, 0, 0, 0, 0, 0, 0, 7]);

  const missing = unique('nosuchtopic');
  const e2 = new Emitter({ brokers: brokers(), topic: missing, codec: codecs.string });
  await t.throwsAsync(e2.emit('k', 'v'), { instanceOf: TopicError, message: new RegExp(`topic '${missing}' not found`) });
  await e2.close();
});
