// The callback context, on partita/tester (the real runtime in-thread, no broker): nil
// handling, headers, async order per partition, deferCommit, deletes, undeclared outputs.
import test from 'ava';
import { NotFoundError, ProcessingError, codecs, defineGroup, input, output, persist } from '../src/index.js';
import { Tester } from '../src/tester/index.js';
import { waitFor } from './helpers.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

for (const nilHandling of ['ignore', 'process', 'decode'] as const) {
  test(`nil handling '${nilHandling}'; headers reach the callback; emits carry their own and the default headers`, async (t) => {
    const tester = new Tester();
    t.teardown(() => tester.close());
    const seen: (string | null)[] = [];
    const traces: (string | undefined)[] = [];
    const p = tester.processor(defineGroup(`nil-${nilHandling}`, [
      input('in', codecs.string, (ctx, v) => {
        seen.push(v);
        traces.push(text(ctx.headers['trace']));
        ctx.setValue(seen.length);
        ctx.emit('out', ctx.key, String(v), { headers: { from: nilHandling } });
      }),
      output('out', codecs.string),
      persist(codecs.json<number>()),
    ]), { nilHandling, defaultHeaders: { app: 'test' } });
    const q = tester.queue<string>('out');
    await tester.consume('in', 'a', 'x', { headers: { trace: 't-1' } });
    await tester.consume('in', 'a', null);
    await tester.consume('in', 'a', 'y');
    t.deepEqual(seen, { ignore: ['x', 'y'], process: ['x', null, 'y'], decode: ['x', '', 'y'] }[nilHandling]);
    t.is(traces[0], 't-1');
    t.is(await p.get('a'), seen.length);
    const out = [q.next(), q.next(), q.next()].filter((r) => r !== undefined);
    t.deepEqual(out.map((r) => `${text(r.headers['from'])}:${r.value}`), seen.map((v) => `${nilHandling}:${String(v)}`));
    t.true(out.every((r) => text(r.headers['app']) === 'test'), 'default headers on every emit');
  });
}

test('async callbacks run one after the other per partition, in offset order', async (t) => {
  const tester = new Tester({ partitions: 2 });
  t.teardown(() => tester.close());
  const order = new Map<number, number[]>();
  let running = 0;
  let overlap = 0;
  tester.processor(defineGroup('async', [
    input('in', codecs.json<number>(), async (ctx, v) => {
      if (++running > 1) overlap++;
      await new Promise((r) => setTimeout(r, v % 3));
      order.set(ctx.partition, [...(order.get(ctx.partition) ?? []), ctx.offset]);
      ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1);
      running--;
    }),
    persist(codecs.json<number>()),
  ]));
  await Promise.all(Array.from({ length: 300 }, (_, i) => tester.consume('in', `k${i % 7}`, i)));
  for (const offsets of order.values()) t.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  t.is([...order.values()].reduce((s, o) => s + o.length, 0), 300);
  t.log(`callbacks of different partitions overlapped ${overlap} times (allowed); within a partition never`);
});

test('deferCommit holds the commit of its message (and later ones) until released', async (t) => {
  const tester = new Tester();
  t.teardown(() => tester.close());
  let release: ((err?: unknown) => void) | undefined;
  tester.processor(defineGroup('defer', [
    input('in', codecs.string, (ctx, v) => {
      if (v === 'hold') release = ctx.deferCommit();
    }),
  ]), { flushEvery: 1 });
  await tester.consume('in', 'k', 'a');
  await tester.consume('in', 'k', 'b');
  const held = Promise.all(['hold', 'c', 'd'].map((v) => tester.consume('in', 'k', v)));
  await waitFor('all five to be processed', () => release !== undefined && tester.kafka.endOffset('in', 0) === 5, 10_000, 5);
  await waitFor('offsets before the held message to be committed', () => tester.kafka.committed('defer', 'in', 0) === 2, 10_000, 5);
  t.is(tester.kafka.committed('defer', 'in', 0), 2, 'the commit stays at the held message');
  release!();
  await held; // consume settles once the commit moved past the released message
  t.is(tester.kafka.committed('defer', 'in', 0), 5);
});

test('ctx.delete writes a tombstone; an emit to an undeclared output fails the record with NotFoundError as cause', async (t) => {
  const tester = new Tester({ partitions: 2 });
  t.teardown(() => tester.close());
  const p = tester.processor(defineGroup('deleter', [
    input('in', codecs.string, (ctx, v) => {
      if (v === 'set') ctx.setValue(1);
      if (v === 'delete') ctx.delete();
      if (v === 'stray') ctx.emit('undeclared', ctx.key, 'x');
    }),
    persist(codecs.json<number>()),
  ]));
  await tester.consume('in', 'k', 'set');
  t.is(await p.get('k'), 1);
  await tester.consume('in', 'k', 'delete');
  t.is(await p.get('k'), undefined);
  t.is(tester.table('deleter-table').get('k'), undefined);
  t.true(tester.kafka.records('deleter-table').flat().some((r) => r.value === null), 'a tombstone in the changelog');
  const err = await t.throwsAsync(tester.consume('in', 'k', 'stray'), { instanceOf: ProcessingError });
  t.true(err?.cause instanceof NotFoundError, String(err?.cause));
  t.regex(err!.message, /not a declared output/);
});
