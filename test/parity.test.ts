// The same group module and the same inputs, once through partita/tester and once through a
// real broker (6 partitions, 2 worker threads): the same table and the same outputs.
import test from 'ava';
import { Emitter, codecs } from '../src/index.js';
import { Tester } from '../src/tester/index.js';
import type { ItemCount, Order } from './fixtures/fanout.js';
import { brokers, createTopics, readTopic, tempDir, unique } from './helpers.js';
import { start, waitProcessed } from './processor-helpers.js';

const items = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date', 'yuzu'];
const orders: [string, Order][] = Array.from({ length: 60 }, (_, i) => [`order-${i}`, { items: items.filter((_, j) => (i * 7 + j * 3) % 5 < 2) }]);
const loopbacks = orders.reduce((n, [, o]) => n + o.items.length, 0);

/** Per key, the emitted counts in offset order. */
function byKey(records: { key: string; value: ItemCount }[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of records) (out[r.key] ??= []).push(r.value.n);
  return out;
}

test('a group module gives the same table and outputs on the tester and on a real broker', async (t) => {
  const group = unique('parity');
  const inputT = `${group}-in`;
  const outputT = `${group}-out`;
  const url = new URL(`./fixtures/fanout.js?group=${group}&input=${inputT}&output=${outputT}`, import.meta.url);

  // The tester: 6 partitions, in this thread.
  const tester = new Tester({ partitions: 6 });
  t.teardown(() => tester.close());
  const tp = tester.processor(url);
  const queue = tester.queue<ItemCount>(outputT);
  for (const [key, order] of orders) await tester.consume(inputT, key, order);
  const testerOut: { key: string; value: ItemCount }[] = [];
  for (let r = queue.next(); r; r = queue.next()) testerOut.push({ key: r.key, value: r.value! });
  const testerTable = Object.fromEntries(await Promise.all(items.map(async (i) => [i, await tp.get(i)] as const)));

  // The broker: 6 partitions, 2 worker threads.
  await createTopics([{ topic: inputT, partitions: 6 }, { topic: outputT, partitions: 6 }]);
  const emitter = new Emitter({ brokers: brokers(), topic: inputT, codec: codecs.json<Order>() });
  for (const [key, order] of orders) await emitter.emit(key, order);
  await emitter.close();
  const { p, done } = await start({ group: url, workers: 2, storagePath: tempDir(t) });
  const brokerOut = (await readTopic(outputT, loopbacks)).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((r) => ({ key: r.key, value: JSON.parse(r.value!.toString()) as ItemCount }));
  await waitProcessed(p, orders.length + loopbacks);
  const brokerTable = Object.fromEntries(await Promise.all(items.map(async (i) => [i, await p.get(i)] as const)));
  await p.stop();
  await done;

  t.is(testerOut.length, loopbacks);
  t.deepEqual(brokerTable, testerTable);
  t.deepEqual(byKey(brokerOut), byKey(testerOut));
  for (const i of items) t.deepEqual(byKey(testerOut)[i], Array.from({ length: testerTable[i] as number }, (_, k) => k + 1));
});
