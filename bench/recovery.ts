// partita recovery benchmark (not a test): how fast a compacted table topic is restored into local
// LMDB stores, by a View and by a Processor rebuilding its group table.
//
//   node dist/bench/recovery.js                     # 1,000,000 records over 200,000 keys, 3 runs each
//   node dist/bench/recovery.js --runs 5 --topic bench-rec-ab12cd-table
//
// Flags: --n N (records, default 1,000,000)  --keys K (default 200,000)  --runs R (medians, default 3)
//        --topic T (reuse a table topic named <group>-table holding the records; its input topic
//        <group>-in must exist too)  --only view,processor (scenarios to run)
//        --workers 0,2,1+main (the processor rebuild's worker counts; +main: mainThreadActors)  --keep (leave a new topic for --topic)
//
// Method: one broker (KAFKA_BROKERS, or findOrStartBroker({ profile: 'bench' })). A 6-partition
// compacted topic <group>-table is filled by an Emitter (maxBatch 10,000, 50,000 emits in flight)
// with N JSON numbers over K keys (N/K generations per key; the active segment is not compacted, so
// every record is read back). Per scenario and run, in this process, with a fresh LMDB dir:
//   view             new View over the topic, run() → ready(); records from stats().partitions[].recovery
//   view, restart    a second View on the same dir after stop(): run() → ready(), records re-read
//   processor rebuild, workers W   the count group (bench/count-group.ts) named <group>, so its table
//                    is the topic; its input <group>-in (6 partitions) is empty. run() → ready(),
//                    records from stats().actors[].recovery (group join included).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Emitter, Processor, View, codecs } from '../src/index.js';
import { findOrStartBroker } from '../scripts/broker.js';
import { median, parseWorkers, withAdmin, type WorkersSpec } from './util.js';

const PARTITIONS = 6;
const log = (...a: unknown[]) => console.error('[bench:recovery]', ...a);
const silent = pino({ level: 'silent' });
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

interface Run { records: number; ms: number }
type ViewStatsLike = { partitions: { keys: number; recovery: { records: number } | null }[] };
type ProcStatsLike = { actors?: { recovery: { records: number } | null }[] };


const fill = (brokers: string[], group: string, n: number, keys: number) => withAdmin(brokers, async (admin) => {
  await admin.createTopics({ waitForLeaders: true, timeout: 30_000, topics: [
    { topic: `${group}-table`, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: `${group}-in`, numPartitions: PARTITIONS, replicationFactor: 1 },
  ] });
  const emitter = new Emitter({ brokers, topic: `${group}-table`, codec: codecs.json<number>(), logger: silent, maxBatch: 10_000, clientId: 'partita-bench-fill' });
  for (let i = 0; i < n; i += 50_000) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 50_000); j++) batch.push(emitter.emit(`key-${j % keys}`, j));
    await Promise.all(batch);
  }
  await emitter.close();
  const total = sum((await admin.fetchTopicOffsets(`${group}-table`)).map((o) => Number(o.high) - Number(o.low)));
  if (total !== n) throw new Error(`${group}-table holds ${total} records, expected ${n}`);
});

async function viewRun(brokers: string[], table: string, storagePath: string, keys: number): Promise<Run> {
  const view = new View({ brokers, table, codec: codecs.json<number>(), storagePath, logger: silent });
  const t0 = performance.now();
  const done = view.run();
  try {
    await view.ready();
    const ms = performance.now() - t0;
    const s = view.stats() as ViewStatsLike;
    const have = sum(s.partitions.map((p) => p.keys));
    if (have !== keys) throw new Error(`view of ${table} has ${have} keys, expected ${keys}`);
    return { records: sum(s.partitions.map((p) => p.recovery?.records ?? 0)), ms };
  } finally {
    await view.stop();
    await done;
  }
}

async function processorRun(brokers: string[], group: string, { workers, mainThreadActors }: WorkersSpec, storagePath: string): Promise<Run> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`./count-group.${ext}`, import.meta.url);
  url.searchParams.set('group', group);
  url.searchParams.set('input', `${group}-in`);
  const p = new Processor({ brokers, group: url, workers, mainThreadActors, storagePath, logger: silent });
  const t0 = performance.now();
  const done = p.run();
  try {
    await Promise.race([p.ready(), done.then(() => { throw new Error('processor stopped before ready'); })]);
    const ms = performance.now() - t0;
    return { records: sum(((p.stats() as ProcStatsLike).actors ?? []).map((a) => a.recovery?.records ?? 0)), ms };
  } finally {
    await p.stop();
    await done.catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<void> {
  let n = 1_000_000, keys = 200_000, runs = 3;
  let reuse: string | undefined;
  let only = ['view', 'processor'];
  let workers = ['0', '2'];
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const v = argv[++i] ?? '';
    switch (f) {
      case '--n': n = Number(v); break;
      case '--keys': keys = Number(v); break;
      case '--runs': runs = Number(v); break;
      case '--topic': reuse = v; break;
      case '--only': only = v.split(','); break;
      case '--workers': workers = v.split(','); break;
      case '--keep': keep = true; i--; break;
      default: throw new Error(`unknown flag ${f} (see the header of bench/recovery.ts)`);
    }
  }
  if (![n, keys, runs].every((x) => Number.isInteger(x) && x > 0)) throw new Error('bad --n/--keys/--runs');
  if (reuse && !reuse.endsWith('-table')) throw new Error('--topic must be named <group>-table');
  const group = reuse ? reuse.slice(0, -'-table'.length) : `bench-rec-${randomUUID().slice(0, 6)}`;
  const table = `${group}-table`;

  const broker = await findOrStartBroker({ profile: 'bench', log });
  const rows: string[] = [];
  const dirs: string[] = [];
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'partita-bench-rec-')); dirs.push(d); return d; };
  try {
    const t0 = performance.now();
    if (!reuse) await fill(broker.brokers, group, n, keys);
    log(`${n} records over ${keys} keys ${reuse ? 'already in' : 'into'} ${table} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const scenarios: [string, () => Promise<Run>][] = [];
    if (only.includes('view')) {
      let last = '';
      scenarios.push(['view', () => viewRun(broker.brokers, table, (last = tmp()), keys)]);
      scenarios.push(['view, restart', () => viewRun(broker.brokers, table, last, keys)]);
    }
    for (const w of only.includes('processor') ? workers.map(parseWorkers) : []) {
      scenarios.push([`processor rebuild, workers ${w.label}`, () => processorRun(broker.brokers, group, w, tmp())]);
    }
    const results = new Map<string, Run[]>(scenarios.map(([name]) => [name, []]));
    // Runs interleave (view, restart, proc w0, proc w2, view, …) so "restart" reuses the dir of the run before it.
    for (let r = 0; r < runs; r++) {
      for (const [name, fn] of scenarios) {
        const x = await fn();
        log(`${name} run ${r + 1}/${runs}: ${x.records} records in ${(x.ms / 1000).toFixed(2)} s (${(x.records / (x.ms / 1000)).toFixed(0)} records/s)`);
        results.get(name)!.push(x);
      }
    }
    for (const [name, xs] of results) {
      const s = median(xs.map((x) => x.ms)) / 1000;
      rows.push(`| ${name} | ${median(xs.map((x) => x.records)).toLocaleString('en-US')} | ${s.toFixed(2)} | ${median(xs.map((x) => x.records / (x.ms / 1000))).toFixed(0)} |`);
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (broker.source === 'env' && !reuse && !keep) await withAdmin(broker.brokers, (a) => a.deleteTopics({ topics: [table, `${group}-in`], timeout: 30_000 })).catch((e) => log(`topic cleanup failed: ${(e as Error).message}`));
    await broker.stop();
  }
  console.log('');
  console.log('| scenario | records | seconds to ready | records/s |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`${n.toLocaleString('en-US')} records over ${keys.toLocaleString('en-US')} keys in ${table} (${PARTITIONS} partitions), ${runs} run(s) per scenario (medians), fresh LMDB dir per run (restart: the view run's dir).`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
