// partita/tester: groups tested without Kafka, on the real runtime (Goka's examples/4-tests
// scenarios, and what Goka's tester cannot do: several partitions, views, visitors).
import test from 'ava';
import { codecs, defineGroup, input, join, lookup, output, persist, visitor, ProcessingError } from '../src/index.js';
import { Tester } from '../src/tester/index.js';

const counter = (group: string, topic: string) =>
  defineGroup(group, [persist(codecs.json<number>())]).input(topic, codecs.string, (ctx) => ctx.setValue((ctx.value() ?? 0) + 1));

test('a single input: the group table holds the count (4-tests: simple)', async (t) => {
  const tester = new Tester();
  t.teardown(() => tester.close());
  const p = tester.processor(counter('simple', 'clicks'));
  await tester.consume('clicks', 'alice', 'x');
  await tester.consume('clicks', 'alice', 'x');
  await tester.consume('clicks', 'bob', 'x');
  t.is(await p.get('alice'), 2);
  t.is(await p.get('bob'), 1);
  t.is(tester.table<number>('simple-table').get('alice'), 2, 'the changelog has it too');
  t.deepEqual(tester.table('simple-table').keys(), ['alice', 'bob']);
  t.is((await p.table()).get('bob'), 1, "the processor's own table reader");
});

test('input → output, read with a queue; headers and values decoded (4-tests: output)', async (t) => {
  const tester = new Tester({ partitions: 3 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('forwarder', [output('out', codecs.json<{ doubled: number }>())])
    .input('in', codecs.json<{ n: number }>(), (ctx, v) => ctx.emit('out', ctx.key, { doubled: v.n * 2 }, { headers: { via: 'forwarder' } })));
  const q = p.output('out');
  await tester.consume('in', 'k1', { n: 21 });
  const r = q.next()!;
  t.is(r.key, 'k1');
  t.deepEqual(r.value, { doubled: 42 });
  t.is(new TextDecoder().decode(r.headers['via']), 'forwarder');
  t.is(q.next(), undefined, 'nothing else was emitted');
});

test('a loopback chain runs to the end before consume resolves (4-tests: loop)', async (t) => {
  const tester = new Tester({ partitions: 4 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('looper', [persist(codecs.json<number>())])
    .loop(codecs.json<number>(), (ctx, n) => {
      ctx.setValue(n);
      if (n > 0) ctx.loopback(`hop-${n - 1}`, n - 1);
    })
    .input('start', codecs.json<number>(), (ctx, n) => ctx.loopback(`hop-${n}`, n)));
  await tester.consume('start', 'go', 5);
  for (let i = 0; i <= 5; i++) t.is(await p.get(`hop-${i}`), i);
});

test('join and lookup: tables set through the tester are seen by the callbacks (4-tests: join)', async (t) => {
  const tester = new Tester({ partitions: 2 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('enricher', [
    input('orders', codecs.json<{ sku: string }>(), (ctx, o) => {
      const user = ctx.join('users-table') as { name: string } | undefined;
      const price = ctx.lookup('prices-table', o.sku) as number | undefined;
      ctx.setValue({ user: user?.name ?? null, price: price ?? null });
    }),
    join('users-table', codecs.json<{ name: string }>()),
    lookup('prices-table', codecs.json<number>()),
    persist(codecs.json<{ user: string | null; price: number | null }>()),
  ]));
  await tester.table('users-table').set('u1', { name: 'Ada' });
  await tester.table('prices-table').set('sku-9', 42);
  await tester.consume('orders', 'u1', { sku: 'sku-9' });
  t.deepEqual(await p.get('u1'), { user: 'Ada', price: 42 });
  await tester.table('users-table').set('u1', { name: 'Ada L.' });
  await tester.consume('orders', 'u1', { sku: 'unknown' });
  t.deepEqual(await p.get('u1'), { user: 'Ada L.', price: null });
});

test('two processors: emits into another group are processed before consume resolves; a view follows the table', async (t) => {
  const tester = new Tester({ partitions: 6 });
  t.teardown(() => tester.close());
  tester.processor(defineGroup('splitter', [
    input('lines', codecs.string, (ctx, line) => { for (const w of line.split(' ')) ctx.emit('words', w, w); }),
    output('words', codecs.string),
  ]));
  const words = tester.processor(counter('wordcount', 'words'));
  const view = await tester.view('wordcount-table', codecs.json<number>());
  await tester.consume('lines', 'l1', 'to be or not to be');
  t.is(await words.get('to'), 2);
  t.is(await words.get('not'), 1);
  t.is(await view.get('be'), 2, 'the view followed the table');
  const all: string[] = [];
  for await (const [k] of view.entries()) all.push(k);
  t.deepEqual(all, ['be', 'not', 'or', 'to']);
});

test('a failing callback rejects consume with the ProcessingError (4-tests: failure)', async (t) => {
  const tester = new Tester();
  t.teardown(() => tester.close());
  tester.processor(defineGroup('picky', [
    input('in', codecs.string, (_ctx, v) => { if (v === 'bad') throw new Error('no bad values'); }),
  ]));
  await tester.consume('in', 'k', 'good');
  const err = await t.throwsAsync(tester.consume('in', 'k', 'bad'), { instanceOf: ProcessingError });
  t.is(err?.key, 'k');
  t.is(err?.topic, 'in');
  t.regex(err!.message, /no bad values/);
});

test('visitAll through the tester, and an emitter whose emits settle', async (t) => {
  const tester = new Tester({ partitions: 3 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('resettable', [
    input('hits', codecs.string, (ctx) => ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1)),
    visitor('reset', (ctx, meta) => ctx.setValue((meta as { to: number }).to)),
    persist(codecs.json<number>()),
  ]));
  const e = tester.emitter('hits', codecs.string);
  for (const k of ['a', 'b', 'c', 'd']) await e.emit(k, 'hit');
  t.is(await p.get('c'), 1);
  t.deepEqual(await p.visitAll('reset', { to: 100 }), { visited: 4 });
  for (const k of ['a', 'b', 'c', 'd']) t.is(await p.get(k), 100);
});

test('a group module URL works as in production', async (t) => {
  const tester = new Tester({ partitions: 2 });
  t.teardown(() => tester.close());
  const p = tester.processor(new URL('./fixtures/counter.js?group=from-url&input=url-in', import.meta.url));
  await tester.consume('url-in', 'x', 'click');
  await tester.consume('url-in', 'x', 'click');
  t.is(await p.get('x'), 2);
});

test('a table value set, then consumed: 10 + 2 = 12 (4-tests: SetTableValue)', async (t) => {
  const tester = new Tester({ partitions: 3 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('adder', [persist(codecs.json<number>())])
    .input('add', codecs.json<number>(), (ctx, n) => ctx.setValue((ctx.value() ?? 0) + n)));
  await p.setValue('k', 10);
  t.is(await p.get('k'), 10);
  await tester.consume('add', 'k', 2);
  t.is(await p.get('k'), 12);
  await tester.table<number>('adder-table').set('other', 5);
  await tester.consume('add', 'other', 1);
  t.is(await p.get('other'), 6);
  t.is(await p.get('k'), 12, 'the restart around a write recovers every other key');
});

test('ctx.fail makes consume reject with the ProcessingError, its reason as cause (4-tests: failure)', async (t) => {
  const tester = new Tester();
  t.teardown(() => tester.close());
  tester.processor(defineGroup('strict').input('in', codecs.json<number>(), (ctx, n) => {
    if (n < 0) ctx.fail(new RangeError(`negative: ${n}`));
  }));
  await tester.consume('in', 'k', 1);
  const err = await t.throwsAsync(tester.consume('in', 'k', -1), { instanceOf: ProcessingError });
  t.is((err?.cause as Error).name, 'RangeError');
  t.regex(err!.message, /ctx\.fail\(RangeError: negative: -1\)/);
});

test('6 partitions: a loopback fan-out to keys of other partitions and a chain into a second group are done when consume resolves (4-tests: loop chain)', async (t) => {
  const tester = new Tester({ partitions: 6 });
  t.teardown(() => tester.close());
  const items = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime'];
  const fanout = tester.processor(new URL('./fixtures/fanout.js?group=shop&input=orders&output=item-counts', import.meta.url));
  const totals = tester.processor(defineGroup('totals', [persist(codecs.json<{ last: number; seen: number }>())])
    .input('item-counts', codecs.json<{ item: string; n: number }>(), (ctx, c) => ctx.setValue({ last: c.n, seen: (ctx.value()?.seen ?? 0) + 1 })));
  await tester.consume('orders', 'o1', { items });
  const partitions = new Set(tester.kafka.records('shop-loop').flatMap((log, p) => (log.length > 0 ? [p] : [])));
  t.true(partitions.size > 1, `the loopbacks went to ${partitions.size} partitions`);
  for (const i of items) t.is(await fanout.get(i), 1);
  for (const i of items) t.deepEqual(await totals.get(i), { last: 1, seen: 1 });
  await tester.consume('orders', 'o2', { items: ['fig', 'kiwi'] });
  t.deepEqual(await totals.get('kiwi'), { last: 2, seen: 2 });
  t.deepEqual(await totals.get('pear'), { last: 1, seen: 1 });
});
