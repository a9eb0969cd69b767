// partita memory benchmark (not a test): max RSS of one process running the count processor over
// a pre-filled backlog of N records, with workers 0 and 2 (issue: "bounded memory").
//
//   node dist/bench/memory.js                       # N = 1,000,000, workers 0 and 2, 1 run each
//   node dist/bench/memory.js --n 200000 --runs 3 --workers 0
//
// Flags: --n N (backlog records, default 1,000,000)  --keys K (default 1,000)  --runs R (medians)
//        --workers 0,2  --opts JSON (extra ProcessorOptions, e.g. '{"maxInflight":1000}')
//        --node-args "--max-semi-space-size=8" (flags for the child node)  --trace MS (child prints
//        process.memoryUsage() every MS ms on stderr)  --topic T (reuse a backlog topic holding N records)
//
// Method: one broker (KAFKA_BROKERS, or findOrStartBroker({ profile: 'bench' })). One 6-partition
// input topic is filled with N string records over K keys by an Emitter (the backlog). Then, per
// scenario and run, a fresh CHILD node process (fresh group, fresh LMDB dir) runs the count
// processor (bench/count-group.ts, Processor defaults, silent logger) from run() until the group's
// committed input offsets cover all N, stops it and exits. The child reports
// process.resourceUsage().maxRSS (the whole process: main thread, worker threads, native memory
// and touched LMDB pages) and the peaks of the main thread's process.memoryUsage() (sampled every
// 250 ms). "wall s" is run() → all N committed, start-up (group join, worker threads) included.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Emitter, Processor, codecs, type ProcessorOptions } from '../src/index.js';
import { findOrStartBroker } from '../scripts/broker.js';
import { median, withAdmin } from './util.js';

const PARTITIONS = 6;
const log = (...a: unknown[]) => console.error('[bench:memory]', ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

interface ChildArgs {
  brokers: string[];
  topic: string;
  n: number;
  workers: number;
  opts: Partial<ProcessorOptions>;
  traceMs: number;
}

interface ChildResult {
  group: string;
  wallMs: number;
  readyMs: number;
  /** process.resourceUsage().maxRSS when all N were committed (before stop) and at exit */
  rssCommittedKiB: number;
  maxRssKiB: number;
  /** peaks of the main thread's process.memoryUsage(), bytes */
  peak: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

// ------------------------------------------------------------------------------------------------
// child: one processor run

async function child(a: ChildArgs): Promise<void> {
  const group = `bench-mem-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'partita-bench-mem-'));
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`./count-group.${ext}`, import.meta.url);
  url.searchParams.set('group', group);
  url.searchParams.set('input', a.topic);
  url.searchParams.set('report', String(a.n + 1)); // progress posts: offset 0 only
  const p = new Processor({ brokers: a.brokers, group: url, workers: a.workers, storagePath: dir, logger: silent, ...a.opts });
  const committed = () => {
    let c = 0;
    for (const s of p.stats().actors) c += s.offsets[a.topic]?.committed ?? 0;
    return c;
  };
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const t0 = performance.now();
  let lastTrace = t0;
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
    const now = performance.now();
    if (a.traceMs > 0 && now - lastTrace >= a.traceMs) {
      lastTrace = now;
      const f = (x: number) => (x / MiB).toFixed(0).padStart(4);
      const actors = (p.stats() as { actors?: { inflight: number; unacked?: number; paused: boolean; processed: number }[] }).actors ?? [];
      const inflight = actors.map((x) => `${x.inflight}${x.unacked !== undefined ? `+${x.unacked}` : ''}${x.paused ? 'p' : ''}`).join(',');
      const processed = actors.reduce((s, x) => s + x.processed, 0);
      console.error(`[child w${a.workers}] ${((now - t0) / 1000).toFixed(1).padStart(5)} s processed ${String(processed).padStart(8)} committed ${String(committed()).padStart(8)}  inflight ${inflight}  rss ${f(m.rss)}  heapTotal ${f(m.heapTotal)}  heapUsed ${f(m.heapUsed)}  external ${f(m.external)}  arrayBuffers ${f(m.arrayBuffers)} MiB`);
    }
  };
  const done = p.run();
  let failure: Error | undefined;
  done.catch((e: Error) => (failure = e));
  try {
    await Promise.race([p.ready(), done]);
    const readyMs = performance.now() - t0;
    const deadline = Date.now() + 600_000;
    for (let i = 0; committed() < a.n; i++) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error(`not all committed in 600 s: ${committed()} of ${a.n}`);
      if (i % 5 === 0) sample();
      await sleep(50);
    }
    const wallMs = performance.now() - t0;
    sample();
    const rssCommittedKiB = process.resourceUsage().maxRSS;
    await p.stop();
    const res: ChildResult = { group, wallMs, readyMs, rssCommittedKiB, maxRssKiB: process.resourceUsage().maxRSS, peak };
    process.stdout.write(`${JSON.stringify(res)}\n`);
  } finally {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(a: ChildArgs, nodeArgs: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const cp = spawn(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--child', JSON.stringify(a)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    cp.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cp.on('error', reject);
    cp.on('exit', (code, sig) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ChildResult);
      else reject(new Error(`child (workers ${a.workers}) exited with ${sig ?? code}: ${out.slice(-500)}`));
    });
  });
}

// ------------------------------------------------------------------------------------------------
// parent: backlog, scenarios, table


async function backlog(brokers: string[], topic: string, n: number, keys: number): Promise<void> {
  await withAdmin(brokers, (a) => a.createTopics({ waitForLeaders: true, timeout: 30_000, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] }));
  const emitter = new Emitter({ brokers, topic, codec: codecs.string, logger: silent, clientId: 'partita-bench-backlog' });
  for (let i = 0; i < n; i += 20_000) {
    const all: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 20_000); j++) all.push(emitter.emit(`user-${j % keys}`, 'click'));
    await Promise.all(all);
  }
  await emitter.close();
  const offs = await withAdmin(brokers, (a) => a.fetchTopicOffsets(topic));
  const total = offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  if (total !== n) throw new Error(`backlog ${topic} holds ${total} records, expected ${n}`);
}


async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return child(JSON.parse(argv[1]!) as ChildArgs);
  let n = 1_000_000, keys = 1000, runs = 1, traceMs = 0;
  let workers = [0, 2];
  let opts: Partial<ProcessorOptions> = {};
  let nodeArgs: string[] = [];
  let reuse: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const v = argv[++i] ?? '';
    switch (f) {
      case '--n': n = Number(v); break;
      case '--keys': keys = Number(v); break;
      case '--runs': runs = Number(v); break;
      case '--workers': workers = v.split(',').map(Number); break;
      case '--opts': opts = JSON.parse(v) as Partial<ProcessorOptions>; break;
      case '--node-args': nodeArgs = v.split(' ').filter(Boolean); break;
      case '--trace': traceMs = Number(v); break;
      case '--topic': reuse = v; break;
      default: throw new Error(`unknown flag ${f} (see the header of bench/memory.ts)`);
    }
  }
  if (![n, keys, runs].every((x) => Number.isInteger(x) && x > 0) || workers.some((w) => !Number.isInteger(w) || w < 0)) throw new Error('bad --n/--keys/--runs/--workers');

  const broker = await findOrStartBroker({ profile: 'bench', log });
  const topic = reuse ?? `bench-mem-in-${randomUUID().slice(0, 6)}`;
  const rows: string[] = [];
  const cleanup = reuse ? [] : [topic];
  try {
    const t0 = performance.now();
    if (!reuse) await backlog(broker.brokers, topic, n, keys);
    log(`backlog: ${n} records over ${keys} keys ${reuse ? 'already in' : 'into'} ${topic} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const w of workers) {
      const res: ChildResult[] = [];
      for (let r = 0; r < runs; r++) {
        const x = await runChild({ brokers: broker.brokers, topic, n, workers: w, opts, traceMs }, nodeArgs);
        log(`workers ${w} run ${r + 1}/${runs}: ${(x.wallMs / 1000).toFixed(1)} s to committed (ready ${(x.readyMs / 1000).toFixed(1)} s), max RSS ${(x.maxRssKiB / 1024).toFixed(0)} MiB (${(x.rssCommittedKiB / 1024).toFixed(0)} before stop), main-thread peaks: heapUsed ${(x.peak.heapUsed / MiB).toFixed(0)}, heapTotal ${(x.peak.heapTotal / MiB).toFixed(0)}, external ${(x.peak.external / MiB).toFixed(0)} MiB`);
        res.push(x);
        cleanup.push(`${x.group}-table`);
      }
      const m = (f: (x: ChildResult) => number) => median(res.map(f));
      rows.push(`| workers: ${w} | ${n.toLocaleString('en-US')} | ${(m((x) => x.wallMs) / 1000).toFixed(1)} | ${(n / (m((x) => x.wallMs) / 1000)).toFixed(0)} | **${(m((x) => x.maxRssKiB) / 1024).toFixed(0)}** | ${(m((x) => x.rssCommittedKiB) / 1024).toFixed(0)} | ${(m((x) => x.peak.heapTotal) / MiB).toFixed(0)} | ${(m((x) => x.peak.external) / MiB).toFixed(0)} |`);
    }
  } finally {
    if (broker.source === 'env' && cleanup.length > 0) await withAdmin(broker.brokers, (a) => a.deleteTopics({ topics: cleanup, timeout: 30_000 })).catch((e) => log(`topic cleanup failed: ${(e as Error).message}`));
    await broker.stop();
  }
  console.log('');
  console.log('| scenario | N | wall s to committed | records/s | max RSS MiB | of it until committed | main heapTotal peak MiB | main external peak MiB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`${keys} keys, ${PARTITIONS} partitions, ${runs} run(s) per scenario (medians), fresh child process, group and LMDB dir per run; ` +
    `Processor defaults${Object.keys(opts).length ? ` + ${JSON.stringify(opts)}` : ''}${nodeArgs.length ? `; node ${nodeArgs.join(' ')}` : ''}.`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
