// The latency benchmark's load: a worker thread that emits at a fixed rate (the records due by
// elapsed time, every millisecond) over 1,000 keys, each value carrying its emit time, so the
// processor's event loop is not the emitter's. Posts { sent } when done.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Emitter, codecs } from '../src/index.js';

const { brokers, topic, rate, seconds } = workerData as { brokers: string[]; topic: string; rate: number; seconds: number };
const clock = () => performance.timeOrigin + performance.now();
const emitter = new Emitter({ brokers, topic, codec: codecs.json<{ at: number }>(), logger: pino({ level: 'silent' }) });
const t0 = clock();
const end = t0 + seconds * 1000;
const total = Math.round(seconds * rate);
let sent = 0;
const pending: Promise<void>[] = [];
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const now = clock();
    const due = Math.min(Math.floor(((Math.min(now, end) - t0) / 1000) * rate), total);
    for (; sent < due; sent++) pending.push(emitter.emit(`key-${sent % 1000}`, { at: clock() }));
    if (now >= end) {
      clearInterval(tick);
      resolve();
    }
  }, 1);
});
await Promise.all(pending);
await emitter.close();
parentPort!.postMessage({ sent, t0 });
