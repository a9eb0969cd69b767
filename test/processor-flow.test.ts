// Loopback chains and outputs, headers and timestamps over a real broker, with threads and in-thread
// (nil handling and headers in callbacks are tested on partita/tester: context.test.ts).
import test from 'ava';
import { Emitter, codecs } from '../src/index.js';
import { brokers, createTopics, readTopic, tempDir, unique } from './helpers.js';
import { start, waitProcessed } from './processor-helpers.js';

for (const workers of [2, 0]) {
  test(`workers: ${workers} — a loopback chain ends in outputs that a plain consumer reads in order per key`, async (t) => {
    const group = unique(`chain${workers}`);
    const inputT = unique('orders');
    const outT = unique('done');
    await createTopics([{ topic: inputT, partitions: 4 }, { topic: outT, partitions: 3 }]);
    const keys = 40;
    const perKey = 25;
    const emitter = new Emitter({ brokers: brokers(), topic: inputT, codec: codecs.json<{ seq: number }>() });
    const sends: Promise<void>[] = [];
    const ts = Date.now() - 60_000;
    for (let seq = 0; seq < perKey; seq++) for (let k = 0; k < keys; k++) sends.push(emitter.emit(`k${k}`, { seq }, { timestamp: ts + seq }));
    await Promise.all(sends);
    await emitter.close();

    const url = new URL(`./fixtures/chain.js?group=${group}&input=${inputT}&output=${outT}&hops=3`, import.meta.url);
    const { p, done } = await start({ group: url, workers, storagePath: tempDir(t) });
    const out = await readTopic(outT, keys * perKey);
    t.is(out.length, keys * perKey);
    const lastSeq = new Map<string, number>();
    for (const r of out) {
      const m = JSON.parse(r.value!.toString()) as { seq: number; hops: number };
      t.is(m.hops, 3);
      t.true((lastSeq.get(r.key) ?? -1) < m.seq, `key ${r.key}: seq ${m.seq} after ${lastSeq.get(r.key)}`);
      lastSeq.set(r.key, m.seq);
      // the input timestamp travels through the loop to the output
      t.is(r.timestamp, ts + m.seq);
      t.is(r.headers['loop-ts'], String(ts + m.seq));
    }
    t.is(lastSeq.size, keys);
    // each input message went through the input callback plus 3 loop hops
    await waitProcessed(p, keys * perKey * 4);
    t.is(await p.get('k7'), perKey);
    await p.stop();
    await done;
  });
}
