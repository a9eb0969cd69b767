// partita latency benchmark (not a test): end-to-end latency at fixed emit rates.
//
//   node dist/bench/latency.js                      # 1,000 and 10,000 msg/s × workers 0 and 2, 3 runs each
//   node dist/bench/latency.js --rates 10000 --workers 2,1+main --seconds 10 --runs 1   (N+main: mainThreadActors)
//
// Method: one broker (KAFKA_BROKERS, or findOrStartBroker({ profile: 'bench' })). Per scenario and
// run, a fresh 6-partition input topic and group; the processor (bench/latency-group.ts, a count
// with one changelog write per record, default options) runs in this process; an Emitter in a
// child process (bench/latency-source.ts) emits at the fixed rate over 1,000 keys for `seconds`,
// each value carrying its emit time. Measured after a 2 s warm-up:
//   emit → callback    the callback's clock minus the emit() call's: performance.timeOrigin + now()
//                      in both processes (the wall clock at each one's start, then monotonic)
//   emit → committed   the first stats() poll (every 5 ms; at 2 ms the polls were ~5 % of
//                      the main thread at 10,000 msg/s) that shows the record's offset
//                      committed, minus its emit time: what at-least-once costs in time (the
//                      changelog write acked, then the offset commit: once the processor has
//                      caught up, else on the commitIntervalMs interval)
//   emit → acked       the emitter's own wait for the broker's ack (the broker's share)
//   CPU                cores used by this process (the processor, and the benchmark's sampling),
//                      the load's process, the broker JVM (when this benchmark started it) and the
//                      whole machine, over the measured window
// Percentiles over every record of the run; medians of the runs. Max RSS of the process per scenario.
// One untimed 6 s run comes first, at the highest rate, so that the broker's JIT is warm.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { BroadcastChannel } from 'node:worker_threads';
import { pino } from 'pino';
import { Emitter, Processor, codecs } from '../src/index.js';
import { findOrStartBroker } from '../scripts/broker.js';
import type { LatencySample } from './latency-group.js';
import type { SourceResult } from './latency-source.js';
import { childPids, processCpu, snapshot, usage, type Snapshot } from './sysstat.js';
import { median, parseWorkers, withAdmin, type WorkersSpec } from './util.js';

const PARTITIONS = 6;
const WARMUP_MS = 2000;
const log = (...a: unknown[]) => console.error('[bench:latency]', ...a);
const silent = pino({ level: 'silent' });
const clock = () => performance.timeOrigin + performance.now();

interface Options { rates: number[]; workers: WorkersSpec[]; seconds: number; runs: number }
function parse(argv: string[]): Options {
  const get = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const list = (name: string, d: number[]) => get(name)?.split(',').map(Number) ?? d;
  return { rates: list('rates', [1000, 10_000]), workers: (get('workers')?.split(',') ?? ['0', '2']).map(parseWorkers), seconds: Number(get('seconds') ?? 10), runs: Number(get('runs') ?? 3) };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Percentiles { p50: number; p99: number; max: number }
/** Cores in use over the measured window: this process, the load's, the broker's (NaN when not ours), the machine. */
interface Cores { processor: number; load: number; broker: number; machine: number }
interface RunResult { callback: Percentiles; committed: Percentiles; acked: Percentiles; cores: Cores; records: number; achievedRate: number }

/** sysstat's snapshot, and the load process's CPU seconds beside it. */
interface CpuMark { snap: Snapshot; load: number }
const cpuMark = (loadPid: number, brokerPids: number[]): CpuMark => ({ snap: snapshot(brokerPids), load: processCpu(loadPid) });
function cores(a: CpuMark, b: CpuMark, brokerKnown: boolean): Cores {
  const u = usage(a.snap, b.snap);
  return { processor: u.selfCores, load: (b.load - a.load) / u.wallS, broker: brokerKnown ? u.brokerCores : NaN, machine: u.machineCores };
}

async function runOnce(brokers: string[], brokerPids: number[], rate: number, { workers, mainThreadActors }: WorkersSpec, seconds: number): Promise<RunResult> {
  const id = randomUUID().slice(0, 8);
  const group = `bench-lat-${id}`;
  const topic = `${group}-in`;
  await withAdmin(brokers, (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] }));
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`./latency-group.${ext}?group=${group}&input=${topic}`, import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'partita-bench-lat-'));
  const channel = new BroadcastChannel(`partita-latency:${group}`);
  // Emit times per partition and offset, from the callbacks' reports.
  const emitted = new Map<number, Map<number, number>>();
  const callbackLat: number[] = [];
  const committedLat: number[] = [];
  let measureFrom = Infinity;
  channel.onmessage = (e: unknown) => {
    for (const [p, off, at, ranAt] of (e as { data: LatencySample[] }).data) {
      if (at < measureFrom) continue;
      callbackLat.push(ranAt - at);
      let m = emitted.get(p);
      if (!m) emitted.set(p, (m = new Map()));
      m.set(off, at);
    }
  };
  const p = new Processor({ brokers, group: url, workers, mainThreadActors, storagePath: dir, logger: silent });
  const done = p.run();
  await p.ready();
  // Committed offsets, polled: every record at or below the committed offset is done.
  const seenCommitted = new Map<number, number>();
  const poll = setInterval(() => {
    const now = clock();
    for (const a of p.stats().actors) {
      const c = a.offsets[topic]?.committed;
      if (c === null || c === undefined) continue;
      const from = seenCommitted.get(a.partition) ?? 0;
      const m = emitted.get(a.partition);
      if (m) for (let off = from; off < c; off++) {
        const at = m.get(off);
        if (at !== undefined) { committedLat.push(now - at); m.delete(off); }
      }
      seenCommitted.set(a.partition, c);
    }
  }, 5);

  // The load comes from a process of its own: the CPU of this one is the processor's.
  measureFrom = clock() + WARMUP_MS;
  const source = fork(new URL(`./latency-source.${ext}`, import.meta.url), [JSON.stringify({ brokers, topic, rate, seconds, measureFrom })]);
  let from: CpuMark | undefined;
  const warm = setTimeout(() => (from = cpuMark(source.pid!, brokerPids)), WARMUP_MS);
  const { sent, acked } = await new Promise<SourceResult>((resolve, reject) => {
    source.once('message', (m) => resolve(m as SourceResult));
    source.once('error', reject);
    source.once('exit', (code) => reject(new Error(`bench/latency-source exited with ${code} before reporting`)));
  });
  const to = cpuMark(source.pid!, brokerPids);
  clearTimeout(warm);
  const measured = Math.round((seconds * 1000 - WARMUP_MS) / 1000 * rate);
  const deadline = Date.now() + 30_000;
  while ((callbackLat.length < measured * 0.99 || committedLat.length < callbackLat.length * 0.99) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(poll);
  channel.close();
  await p.stop();
  await done;
  rmSync(dir, { recursive: true, force: true });
  await withAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic, `${group}-table`] })).catch(() => undefined);
  const cb = [...callbackLat].sort((a, b) => a - b);
  const ak = [...acked].sort((a, b) => a - b);
  const cm = [...committedLat].sort((a, b) => a - b);
  const summary = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs.at(-1) ?? NaN });
  const used = from ? cores(from, to, brokerPids.length > 0) : { processor: NaN, load: NaN, broker: NaN, machine: NaN };
  return { callback: summary(cb), committed: summary(cm), acked: summary(ak), cores: used, records: cb.length, achievedRate: sent / seconds };
}

/** The broker's own round trip, as the floor under every figure: sequential single-record emits (acks=all). */
async function anchor(brokers: string[]): Promise<{ p50: number; p99: number }> {
  const topic = `bench-lat-rtt-${randomUUID().slice(0, 8)}`;
  await withAdmin(brokers, (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] }));
  const e = new Emitter({ brokers, topic, codec: codecs.string, logger: silent });
  await e.emit('k', 'warm-up');
  const xs: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    await e.emit('k', 'v');
    xs.push(performance.now() - t);
  }
  await e.close();
  await withAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
  xs.sort((a, b) => a - b);
  return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const before = new Set(childPids());
  const broker = await findOrStartBroker({ profile: 'bench', log: (l) => log(l) });
  // The broker JVM's CPU is known only when it is our child (started from the jars here).
  const brokerPids = broker.source === 'jars' ? childPids().filter((p) => !before.has(p)) : [];
  const rows: string[] = [];
  let rtt = { p50: NaN, p99: NaN };
  try {
    // A broker that has just started runs its JIT for the first seconds of load (more than a core
    // at 1,000 msg/s): one untimed run first, so the first scenario does not carry that.
    const warm = await runOnce(broker.brokers, brokerPids, Math.max(...o.rates), parseWorkers('0'), 6);
    log(`warm-up (not counted): ${warm.records} records, broker ${warm.cores.broker.toFixed(2)} cores`);
    rtt = await anchor(broker.brokers);
    log(`the broker's produce round trip (one record, acks=all, idle): p50 ${rtt.p50.toFixed(2)} ms, p99 ${rtt.p99.toFixed(2)} ms`);
    for (const rate of o.rates) {
      for (const workers of o.workers) {
        const runs: RunResult[] = [];
        const rss0 = process.resourceUsage().maxRSS;
        for (let r = 0; r < o.runs; r++) {
          const res = await runOnce(broker.brokers, brokerPids, rate, workers, o.seconds);
          const c = res.cores;
          log(`${rate} msg/s, workers ${workers.label}, run ${r + 1}/${o.runs}: ${res.records} records; emit → callback p50 ${res.callback.p50.toFixed(2)} p99 ${res.callback.p99.toFixed(2)} max ${res.callback.max.toFixed(1)} ms; emit → committed p50 ${res.committed.p50.toFixed(0)} p99 ${res.committed.p99.toFixed(0)} max ${res.committed.max.toFixed(0)} ms; emit → acked p50 ${res.acked.p50.toFixed(2)} p99 ${res.acked.p99.toFixed(2)} ms; cores: processor ${c.processor.toFixed(2)}, load ${c.load.toFixed(2)}, broker ${c.broker.toFixed(2)}, machine ${c.machine.toFixed(2)}`);
          runs.push(res);
        }
        const m = (f: (r: RunResult) => number, digits: number) => median(runs.map(f)).toFixed(digits);
        const rssMiB = Math.round(Math.max(rss0, process.resourceUsage().maxRSS) / 1024);
        rows.push(`| ${rate.toLocaleString('en-US')} | ${workers.label} | ${m((r) => r.callback.p50, 2)} | ${m((r) => r.callback.p99, 2)} | ${m((r) => r.callback.max, 1)} | ${m((r) => r.committed.p50, 0)} | ${m((r) => r.committed.p99, 0)} | ${m((r) => r.committed.max, 0)} | ${m((r) => r.acked.p50, 2)} | ${m((r) => r.acked.p99, 2)} | ${m((r) => r.cores.processor, 2)} | ${m((r) => r.cores.broker, 2)} | ${m((r) => r.cores.machine, 2)} | ${rssMiB} |`);
      }
    }
  } finally {
    await broker.stop();
  }
  console.log(`\nLatency (ms, medians of ${o.runs} runs of ${o.seconds} s, the first ${WARMUP_MS / 1000} s not counted; commitIntervalMs 500, the default).`);
  console.log(`Anchor: one record emitted and acked (acks=all) on the idle broker takes p50 ${rtt.p50.toFixed(2)} ms, p99 ${rtt.p99.toFixed(2)} ms here.\n`);
  console.log('| msg/s | workers | emit → callback p50 | p99 | max | emit → committed p50 | p99 | max | emit → acked p50 | p99 | processor cores | broker cores | machine cores | max RSS MiB (process so far) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
