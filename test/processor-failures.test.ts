// Failures: a throwing callback, a dying worker thread, bad topics, a bad graph, a decode error.
import test from 'ava';
import { Emitter, InvalidArgumentError, InvalidGraphError, NotCopartitionedError, ProcessingError, Processor, TopicError, WorkerCrashedError, codecs, defineGroup, input, persist } from '../src/index.js';
import { brokers, createTopics, kafka, tempDir, unique, waitFor } from './helpers.js';
import { emitCounts, start, tableOf, waitProcessed } from './processor-helpers.js';
import { committed } from './processor-helpers.js';

for (const workers of [2, 0]) {
  test(`workers: ${workers} — a throwing callback rejects run() with a named error; after a restart the message is delivered again`, async (t) => {
    const group = unique(`throw${workers}`);
    const topic = unique('poison');
    await createTopics([{ topic, partitions: 2 }]);
    const before = await emitCounts(topic, 200, 10);
    const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
    await emitter.emit('victim', 'poison');
    await emitter.close();
    await emitCounts(topic, 50, 10); // after the poison: must not be committed on its partition
    const storagePath = tempDir(t);
    const url = (mode: string) => new URL(`./fixtures/counter.js?group=${group}&input=${topic}&poison=${mode}`, import.meta.url);

    const failing = new Processor({ brokers: brokers(), group: url('throw'), workers, storagePath });
    const err = await t.throwsAsync(failing.run(), { instanceOf: ProcessingError });
    t.is(err!.group, group);
    t.is(err!.topic, topic);
    t.is(err!.key, 'victim');
    t.is(err!.partition, 0 + err!.partition);
    t.regex(err!.message, new RegExp(`group '${group}' failed on ${topic}\\[${err!.partition}\\]@${err!.offset} key 'victim'`));
    t.regex(String((err!.cause as Error).message), /poisoned message for victim/);

    // The same group without the poison behaviour: the failed message is processed now.
    const { p, done } = await start({ group: url('none'), workers, storagePath });
    await waitFor('the poison message to be counted', async () => (await p.get('victim')) === 1);
    await waitProcessed(p, 1);
    const counts = await tableOf(p, before.keys());
    for (const [k, n] of before) t.is(counts.get(k), n + 5, `key ${k}`);
    await p.stop();
    await done;
    t.is(await committed(group, topic), 251);
  });
}

test('a worker thread that dies rejects run() with WorkerCrashedError naming its partitions; nothing hangs', async (t) => {
  const group = unique('crash');
  const topic = unique('crash-in');
  await createTopics([{ topic, partitions: 4 }]);
  await emitCounts(topic, 100, 10);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  await emitter.emit('boom', 'poison');
  await emitter.close();
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${topic}&poison=crash`, import.meta.url);
  const p = new Processor({ brokers: brokers(), group: url, workers: 2, storagePath: tempDir(t), stopTimeoutMs: 5000 });
  const started = Date.now();
  const err = await t.throwsAsync(p.run(), { instanceOf: WorkerCrashedError });
  t.regex(err!.message, new RegExp(`group '${group}': worker thread \\d \\(partitions [0-9,]+\\) died: .*worker thread blew up`));
  t.true(err!.partitions.length > 0);
  t.true(Date.now() - started < 60_000);
  t.is(p.stats().state, 'failed');
});

test('an existing group table with another partition count fails run() before any record is processed (the table is checked while the group is joined)', async (t) => {
  const topic = unique('cp-in');
  const group = unique('cp-table');
  await createTopics([{ topic, partitions: 4 }, { topic: `${group}-table`, partitions: 3, compact: true }]);
  await emitCounts(topic, 20, 5);
  let processed = 0;
  const graph = defineGroup(group, [input(topic, codecs.string, () => void processed++), persist(codecs.string)]);
  const p = new Processor({ brokers: brokers(), group: graph, workers: 0, storage: 'memory' });
  const err = await t.throwsAsync(p.run(), { instanceOf: NotCopartitionedError });
  t.regex(err!.message, new RegExp(`group '${group}'.*${group}-table=3`));
  t.is(processed, 0);
  t.is(await committed(group, topic), 0);
});

test('inputs with different partition counts fail before anything is consumed', async (t) => {
  const a = unique('cp-a');
  const b = unique('cp-b');
  await createTopics([{ topic: a, partitions: 4 }, { topic: b, partitions: 3 }]);
  const group = unique('cp');
  const graph = defineGroup(group, [input(a, codecs.string, () => undefined), input(b, codecs.string, () => undefined), persist(codecs.string)]);
  const p = new Processor({ brokers: brokers(), group: graph, workers: 0, storage: 'memory' });
  const err = await t.throwsAsync(p.run(), { instanceOf: NotCopartitionedError });
  t.regex(err!.message, new RegExp(`group '${group}' inputs: topics are not co-partitioned \\(partition counts: ${a}=4, ${b}=3\\)`));
  t.is(await committed(group, a), 0);
  // no table topic was created for a group that never started
  const admin = kafka().admin();
  await admin.connect();
  t.false((await admin.listTopics()).includes(`${group}-table`));
  await admin.disconnect();
});

test('a missing input or output topic is named before anything is consumed', async (t) => {
  const missing = unique('missing');
  const present = unique('present');
  await createTopics([{ topic: present, partitions: 1 }]);
  const p1 = new Processor({ brokers: brokers(), group: defineGroup(unique('m1'), [input(missing, codecs.string, () => undefined)]), workers: 0 });
  await t.throwsAsync(p1.run(), { instanceOf: TopicError, message: new RegExp(`'${missing}' not found`) });
  const { output } = await import('../src/index.js');
  const p2 = new Processor({ brokers: brokers(), group: defineGroup(unique('m2'), [input(present, codecs.string, () => undefined), output(missing, codecs.string)]), workers: 0 });
  await t.throwsAsync(p2.run(), { instanceOf: TopicError, message: new RegExp(`output topic '${missing}' not found`) });
});

test('a decode error stops the processor with the record named and the codec error as cause', async (t) => {
  const topic = unique('undecodable');
  await createTopics([{ topic, partitions: 1 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  await emitter.emit('ok', '{"n":1}');
  await emitter.emit('bad', 'not json');
  await emitter.close();
  const seen: string[] = [];
  const group = unique('dec');
  const graph = defineGroup(group, [input(topic, codecs.json<{ n: number }>(), (ctx) => void seen.push(ctx.key))]);
  const p = new Processor({ brokers: brokers(), group: graph, workers: 0 });
  const err = await t.throwsAsync(p.run(), { instanceOf: ProcessingError });
  t.is(err!.key, 'bad');
  t.is(err!.offset, '1');
  t.regex(err!.message, /codec json cannot decode/);
  t.is((err!.cause as { code?: string }).code, 'PARTITA_CODEC');
  t.deepEqual(seen, ['ok']);
  t.is(await committed(group, topic), 1);
});

test('a graph object with worker threads, a bad module, or an invalid graph (also with threads) is a clear error', async (t) => {
  const graph = defineGroup('g', [input('t', codecs.string, () => undefined)]);
  t.throws(() => new Processor({ brokers: brokers(), group: graph, workers: 2 }), { instanceOf: InvalidArgumentError, message: /pass the module instead/ });
  t.throws(() => new Processor({ brokers: brokers(), group: graph }), { instanceOf: InvalidArgumentError });
  const p = new Processor({ brokers: brokers(), group: new URL('./fixtures/no-such-module.js', import.meta.url), workers: 1 });
  await t.throwsAsync(p.run(), { instanceOf: InvalidArgumentError, message: /cannot import group module .*no-such-module/ });
  const stateful = defineGroup('g', [input('g-state', codecs.string, () => undefined)]);
  const own = new Processor({ brokers: brokers(), group: stateful, workers: 0, tableSuffix: '-state' });
  await t.throwsAsync(own.run(), { instanceOf: InvalidGraphError, message: /names the group's own table 'g-state'/ });
  // With workers given, the threads start before the module is checked on this thread: the error is
  // still the graph's, and run() settles (the threads are closed).
  const threaded = new Processor({ brokers: brokers(), group: new URL('./fixtures/counter.js?group=g&input=g-state', import.meta.url), workers: 2, tableSuffix: '-state' });
  await t.throwsAsync(threaded.run(), { instanceOf: InvalidGraphError, message: /names the group's own table 'g-state'/ });
});
