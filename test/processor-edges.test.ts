// Edges found in review: stop() right after run(), batches larger than one produce request,
// a failing record's partial effects, and how fast a failure is reported.
import test from 'ava';
import { Emitter, ProcessingError, Processor, codecs, defineGroup, input, output, persist } from '../src/index.js';
import { brokers, createTopics, kafka, unique } from './helpers.js';
import { start, waitProcessed } from './processor-helpers.js';

async function endOffset(topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

test('stop() right after run() stops the processor', async (t) => {
  const topic = unique('early-in');
  await createTopics([{ topic, partitions: 1 }]);
  const p = new Processor({ brokers: brokers(), group: defineGroup(unique('early'), [input(topic, codecs.string, () => undefined)]), workers: 0 });
  const done = p.run();
  await p.stop();
  await t.notThrowsAsync(done);
  t.is(p.stats().state, 'stopped');
});

test('effects larger than one produce request are split, in order, and the checkpoint is right', async (t) => {
  const topic = unique('big-in');
  await createTopics([{ topic, partitions: 1 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  await Promise.all(Array.from({ length: 600 }, (_, i) => emitter.emit(`k${i % 50}`, String(i))));
  await emitter.close();
  const big = 'x'.repeat(4096);
  const graph = defineGroup(unique('big'), [
    input(topic, codecs.string, (ctx, v) => ctx.setValue({ last: Number(v), pad: big })),
    persist(codecs.json<{ last: number; pad: string }>()),
  ]);
  const { p, done } = await start({ group: graph, workers: 0, storage: 'memory' }, t);
  await waitProcessed(p, 600);
  t.is(((await p.get('k7')) as { last: number }).last, 557);
  await p.stop();
  await done;
  t.is(await endOffset(`${graph.group}-table`), 600);
});

test("a failing record's own emits and table writes are not produced; the records before it are", async (t) => {
  const topic = unique('partial-in');
  const out = unique('partial-out');
  await createTopics([{ topic, partitions: 1 }, { topic: out, partitions: 1 }]);
  const emitter = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  for (const v of ['a', 'b', 'c', 'poison', 'd']) await emitter.emit('k', v);
  await emitter.close();
  const graph = defineGroup(unique('partial'), [
    input(topic, codecs.string, (ctx, v) => {
      ctx.setValue(v);
      ctx.emit(out, ctx.key, v);
      if (v === 'poison') throw new Error('after writing');
    }),
    output(out, codecs.string),
    persist(codecs.string),
  ]);
  const p = new Processor({ brokers: brokers(), group: graph, workers: 0, storage: 'memory' });
  const started = Date.now();
  const err = await t.throwsAsync(p.run(), { instanceOf: ProcessingError });
  t.is(err!.offset, '3');
  t.true(Date.now() - started < 20_000, `failure reported after ${Date.now() - started} ms`);
  t.is(await endOffset(out), 3);
  t.is(await endOffset(`${graph.group}-table`), 3);
});

test('changelog writes that land after recovery (a previous owner finishing) are applied before the first input', async (t) => {
  const topic = unique('late-in');
  await createTopics([{ topic, partitions: 1 }]);
  const graph = defineGroup(unique('late'), [
    input(topic, codecs.string, (ctx) => ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1)),
    persist(codecs.json<number>()),
  ]);
  const { p, done } = await start({ group: graph, workers: 0, storage: 'memory' }, t);
  // As if the partition's previous owner acked one last table write after we recovered.
  const late = new Emitter({ brokers: brokers(), topic: `${graph.group}-table`, codec: codecs.json<number>() });
  await late.emit('k', 41);
  await late.close();
  const input1 = new Emitter({ brokers: brokers(), topic, codec: codecs.string });
  await input1.emit('k', 'click');
  await input1.close();
  await waitProcessed(p, 1);
  t.is(await p.get('k'), 42);
  const recovery = p.stats().actors[0]!.recovery!;
  t.is(recovery.caughtUp, 1);
  await p.stop();
  await done;
});
