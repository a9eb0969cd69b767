// The latency benchmark's group: counts per key (one changelog write per record, as the count
// workload) and reports, per record, when it was emitted (carried in the value) and when its
// callback ran, on a BroadcastChannel named after the group, in chunks. Both clocks are
// performance.timeOrigin + now(): one clock for every thread of the process.
import { BroadcastChannel } from 'node:worker_threads';
import { codecs, defineGroup, persist } from '../src/index.js';

/** [partition, offset, emitted at, callback at] per record. */
export type LatencySample = [number, number, number, number];

const q = new URL(import.meta.url).searchParams;
const group = q.get('group');
const topic = q.get('input');
if (!group || !topic) throw new Error(`bench/latency-group: the module URL needs ?group=…&input=… (got ${import.meta.url})`);
const channel = new BroadcastChannel(`partita-latency:${group}`);
channel.unref();
let buffered: LatencySample[] = [];
let timer: NodeJS.Timeout | undefined;
const flush = () => {
  timer = undefined;
  if (buffered.length > 0) channel.postMessage(buffered);
  buffered = [];
};

export default defineGroup(group, [persist(codecs.json<number>())]).input(topic, codecs.json<{ at: number }>(), (ctx, m) => {
  buffered.push([ctx.partition, ctx.offset, m.at, performance.timeOrigin + performance.now()]);
  ctx.setValue((ctx.value() ?? 0) + 1);
  if (buffered.length >= 256) flush();
  else timer ??= setTimeout(flush, 10);
});
