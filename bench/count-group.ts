// The benchmark's group module: counts messages per key in the group table. Parameters come from
// the module URL's query, so each run gets a fresh group while worker threads import the very same
// module URL:
//   group, input: names
//   iters: iterations of a pure-JS integer hash loop per message (fixed CPU work, calibrated by
//          run.ts to ~200 µs on this machine). 0 (default) = the plain count.
//   ends:  the record count of every input partition (comma-separated), report: progress every
//          `report` offsets. The callback itself posts {p, off, t} on a BroadcastChannel named after
//          the group for the first and the last record of each partition and every `report`
//          offsets, with t taken in the callback. So the bench's clock does not depend on when the
//          supervisor hears about progress (with workers: 0 the busy main thread hears late).
// The loop is real work, not an hrtime busy-wait: a busy-wait ends on wall-clock time, so a thread
// that is descheduled would burn less CPU and contention would look cheaper than it is.
import { BroadcastChannel } from 'node:worker_threads';
import { codecs, defineGroup, input, persist } from '../src/index.js';
import { burn } from './work.js';

export interface ProgressSample {
  p: number;
  off: number;
  /** ms since the epoch, sub-ms precision (performance.timeOrigin + now(), comparable across threads) */
  t: number;
}

const q = new URL(import.meta.url).searchParams;
const group = q.get('group');
const topic = q.get('input');
if (!group || !topic) throw new Error(`bench/count-group: the module URL needs ?group=…&input=… (got ${import.meta.url})`);
const iters = Number(q.get('iters') ?? '0');
const report = Number(q.get('report') ?? '100');
const last = (q.get('ends') ?? '').split(',').filter(Boolean).map((e) => Number(e) - 1);
const channel = new BroadcastChannel(`partita-bench:${group}`);
channel.unref();

export default defineGroup(group, [
  input(topic, codecs.string, (ctx) => {
    if (iters > 0) burn(iters);
    ctx.setValue(((ctx.value() as number | undefined) ?? 0) + 1);
    const off = ctx.offset;
    if (off % report === 0 || off === last[ctx.partition]) {
      const sample: ProgressSample = { p: ctx.partition, off, t: performance.timeOrigin + performance.now() };
      channel.postMessage(sample);
    }
  }),
  persist(codecs.json<number>()),
]);
