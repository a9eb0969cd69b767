// The latency benchmark's load, in a child process of its own (so the CPU the benchmark reports
// for the processor's process is the processor's): emits at a fixed rate (the records due by
// elapsed time, every millisecond) over 1,000 keys, each value carrying its emit time. Sends
// { sent, acked } over IPC when done: acked = emit → broker ack (ms) of each record emitted after
// `measureFrom`, the broker's share of the latency.
import { pino } from 'pino';
import { Emitter, codecs } from '../src/index.js';

interface SourceArgs { brokers: string[]; topic: string; rate: number; seconds: number; measureFrom: number }
export interface SourceResult { sent: number; acked: number[] }

const args = JSON.parse(process.argv[2] ?? '{}') as SourceArgs;
if (!process.send) throw new Error('bench/latency-source: run it with child_process.fork (it reports over IPC)');
const clock = () => performance.timeOrigin + performance.now();
const emitter = new Emitter({ brokers: args.brokers, topic: args.topic, codec: codecs.json<{ at: number }>(), logger: pino({ level: 'silent' }) });
const t0 = clock();
const end = t0 + args.seconds * 1000;
const total = Math.round(args.seconds * args.rate);
let sent = 0;
const acked: number[] = [];
const pending: Promise<void>[] = [];
const emit = (key: string) => {
  const at = clock();
  pending.push(emitter.emit(key, { at }).then(() => {
    if (at >= args.measureFrom) acked.push(clock() - at);
  }));
};
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const now = clock();
    const due = Math.min(Math.floor(((Math.min(now, end) - t0) / 1000) * args.rate), total);
    for (; sent < due; sent++) emit(`key-${sent % 1000}`);
    if (now >= end) {
      clearInterval(tick);
      resolve();
    }
  }, 1);
});
await Promise.all(pending);
await emitter.close();
const result: SourceResult = { sent, acked };
process.send(result, () => process.exit(0));
