/**
 * `npm run demo`: the click counter of examples/clicks.ts, end to end.
 *
 *   1. finds a broker (KAFKA_BROKERS) or starts one (Docker, else the Kafka jars);
 *   2. creates the topics: demo-click-events (6 partitions) and demo-milestones;
 *   3. emits a steady stream of clicks over a set of users;
 *   4. runs the demo-clicks group on worker threads (CPU work in the callback);
 *   5. serves the live monitor (partita/web: partitions, lag, charts, key lookup, /metrics);
 *   6. prints progress every 2 s until Ctrl-C (or PARTITA_DEMO_SECONDS), then stops cleanly:
 *      emitter closed, processor stopped (offsets committed), broker stopped.
 *
 * Environment:
 *   PARTITA_DEMO_RATE=2000     clicks per second
 *   PARTITA_DEMO_USERS=500     distinct users (message keys)
 *   PARTITA_DEMO_WORK_US=75    CPU work per click, in µs (read by clicks.ts)
 *   PARTITA_DEMO_WORKERS=2     worker threads hosting partition actors
 *   PARTITA_DEMO_SECONDS=N     stop by itself N seconds after the processor is ready (unset: until Ctrl-C)
 *   PARTITA_DEMO_MONITOR_PORT=9095  port of the monitor (0: any free port)
 *   PARTITA_LOG_LEVEL=info     level of the library's logs (stderr, one human-readable line each)
 *   KAFKA_BROKERS=host:port    use this broker instead of starting one
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Emitter, Processor, codecs, humanLogger, type PartitionStats } from '../src/index.js';
import { findOrStartBroker, type BrokerHandle } from '../scripts/broker.js';
import { monitor, type Monitor } from '../src/web/index.js';
import { CLICK_TOPIC, MILESTONE_TOPIC, WORK_US, type Click } from './clicks.js';

const { Kafka, logLevel } = kafkajs;

// ---------------------------------------------------------------------------------------------------------------------
// configuration

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`demo: ${name} must be a number ≥ ${min}, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

const RATE = envNumber('PARTITA_DEMO_RATE', 2000, 1);
const USERS = Math.floor(envNumber('PARTITA_DEMO_USERS', 500, 1));
const WORKERS = Math.floor(envNumber('PARTITA_DEMO_WORKERS', 2, 0));
const SECONDS = envNumber('PARTITA_DEMO_SECONDS', 0, 0);
const MONITOR_PORT = Math.floor(envNumber('PARTITA_DEMO_MONITOR_PORT', 9095, 0));
const PARTITIONS = 6;
const REPORT_EVERY_MS = 2000;
const PAGES = ['/', '/pricing', '/docs', '/docs/api', '/blog', '/signup', '/login', '/about'];

const logger = humanLogger({ name: 'demo', level: process.env['PARTITA_LOG_LEVEL'] ?? 'info' });

const fmt = (n: number | null) => (n === null ? '?' : Math.round(n).toLocaleString('en-US'));
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;

// ---------------------------------------------------------------------------------------------------------------------
// the click source: a steady rate, whatever the ack latency

/**
 * Emits RATE clicks per second in small slices (every 20 ms) without waiting for acks one by
 * one: the Emitter batches the emits of one turn into one produce request. If the broker falls
 * far behind (more than 2 s of clicks unacked), the loop skips slices rather than queueing
 * without bound.
 */
class ClickSource {
  acked = 0;
  failed = 0;
  skipped = 0;
  pending = 0;
  lastError: Error | undefined;
  #due = 0;
  #started = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly emitter: Emitter<Click>) {}

  start(): void {
    this.#started = performance.now();
    this.#timer = setInterval(() => this.#tick(), 20);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#started) / 1000) * RATE);
    const n = due - this.#due;
    this.#due = due;
    if (this.pending > 2 * RATE) {
      this.skipped += n;
      return;
    }
    for (let i = 0; i < n; i++) {
      // Skewed like real traffic: a few users click a lot (user-1 gets ~1/√USERS of all clicks),
      // so milestones show up within seconds; most users click now and then.
      const user = `user-${1 + Math.floor(Math.random() ** 2 * USERS)}`;
      const click: Click = { user, page: PAGES[Math.floor(Math.random() * PAGES.length)]!, at: Date.now() };
      this.pending++;
      this.emitter.emit(user, click).then(
        () => {
          this.pending--;
          this.acked++;
        },
        (err: Error) => {
          this.pending--;
          this.failed++;
          this.lastError = err;
        },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// progress

type ActorStats = PartitionStats;

/** Total processed across partitions, robust to an actor being replaced (its counter restarts). */
class ProcessedCounter {
  total = 0;
  readonly #last = new Map<number, number>();
  update(actors: ActorStats[]): void {
    for (const a of actors) {
      const prev = this.#last.get(a.partition) ?? 0;
      this.total += a.processed >= prev ? a.processed - prev : a.processed;
      this.#last.set(a.partition, a.processed);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// main

let broker: BrokerHandle | undefined;
let admin: kafkajs.Admin | undefined;
let emitter: Emitter<Click> | undefined;
let source: ClickSource | undefined;
let processor: Processor | undefined;
let storagePath: string | undefined;
let reporter: NodeJS.Timeout | undefined;
let web: Monitor | undefined;
const processed = new ProcessedCounter();

let stopReason: string | undefined;
let exitCode = 0;
let wakeMain: (() => void) | undefined;
const stopRequested = new Promise<void>((r) => (wakeMain = r));
let mainDone: Promise<void> = Promise.resolve();

/** Asks main() to return at its next step, then shuts everything down that it started. */
function requestStop(reason: string, code = 0): void {
  if (stopReason !== undefined) return;
  stopReason = reason;
  exitCode = code;
  wakeMain?.();
  void mainDone.then(() => shutdown(exitCode));
}

// Our own handlers: the broker harness then leaves the shutdown (and broker.stop()) to us.
// A second Ctrl-C exits at once; the harness's exit hook still kills a broker it started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopReason !== undefined) {
      console.log(`\n${sig} again: exiting without waiting`);
      process.exit(130);
    }
    console.log(`\n${sig}: stopping…`);
    requestStop(sig);
  });
}

/** Resolves with the value of `p`, or with undefined if a stop was requested first. */
function unlessStopped<T>(p: Promise<T>): Promise<T | undefined> {
  return Promise.race([p, stopRequested.then(() => undefined)]);
}

async function main(): Promise<void> {
  console.log(
    `partita demo: ${fmt(RATE)} clicks/s over ${fmt(USERS)} users, ${WORK_US} µs CPU per click, ` +
      `${WORKERS} worker thread(s), ${PARTITIONS} partitions` +
      (SECONDS > 0 ? `, stopping after ${SECONDS} s` : ', Ctrl-C to stop'),
  );

  broker = await findOrStartBroker({ log: (line) => console.log(line) });
  if (stopReason !== undefined) return;
  const brokers = broker.brokers;

  // Topics: the processor creates its own table (demo-clicks-table), but the input and the output
  // streams are the application's to create. createTopics() skips the ones that already exist.
  admin = new Kafka({ brokers, clientId: 'partita-demo-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: CLICK_TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 },
      { topic: MILESTONE_TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 },
    ],
  });
  const [meta] = (await admin.fetchTopicMetadata({ topics: [CLICK_TOPIC] })).topics;
  if (meta && meta.partitions.length !== PARTITIONS) {
    console.log(`note: ${CLICK_TOPIC} already existed with ${meta.partitions.length} partitions`);
  }
  if (stopReason !== undefined) return;

  emitter = new Emitter({ brokers, topic: CLICK_TOPIC, codec: codecs.json<Click>(), logger });
  source = new ClickSource(emitter);
  source.start();

  // A fresh local store per run: with a broker started for this run the changelog is new too.
  // (Against a long-lived KAFKA_BROKERS broker, the table is recovered from its changelog.)
  storagePath = mkdtempSync(join(tmpdir(), 'partita-demo-'));
  processor = new Processor({
    brokers,
    // The module, not the graph: each worker thread imports it to get the callbacks.
    group: new URL('./clicks.js', import.meta.url),
    workers: WORKERS,
    storagePath,
    logger,
  });
  const running = processor.run();
  running.then(
    () => {
      if (stopReason === undefined) {
        console.log('processor stopped on its own');
        requestStop('processor stopped');
      }
    },
    (err: Error) => {
      console.error(`processor failed: ${err.message}` + (err.cause ? `\n  cause: ${(err.cause as Error).message ?? String(err.cause)}` : ''));
      requestStop('processor failed', 1);
    },
  );
  const startedAt = elapsed();
  try {
    await unlessStopped(processor.ready());
  } catch (err) {
    // If run() failed, its handler above reports the error and stops; let it run first.
    await new Promise((r) => setImmediate(r));
    if (stopReason === undefined) throw err;
  }
  if (stopReason !== undefined) return;
  console.log(`processor ready in ${(elapsed() - startedAt).toFixed(1)} s; progress every ${REPORT_EVERY_MS / 1000} s`);
  try {
    web = await monitor({ port: MONITOR_PORT, processors: [processor] });
    console.log(`monitor: ${web.url}  (query: ${web.url}query?source=demo-clicks&key=user-1, metrics: ${web.url}metrics)`);
  } catch (err) {
    // A busy port must not end the demo: it runs without the monitor.
    console.log(`monitor not started: ${(err as Error).message} (set PARTITA_DEMO_MONITOR_PORT=0 for any free port)`);
  }

  let last = { at: elapsed(), acked: source.acked, processed: processed.total };
  reporter = setInterval(() => {
    void report(last).then((next) => (last = next)).catch((err: Error) => console.error(`report: ${err.message}`));
  }, REPORT_EVERY_MS);

  if (SECONDS > 0) setTimeout(() => requestStop(`${SECONDS} s elapsed`), SECONDS * 1000);
}

async function report(last: { at: number; acked: number; processed: number }) {
  if (!processor || !source || stopReason !== undefined) return last;
  const stats = processor.stats();
  const actors = stats.actors ?? [];
  processed.update(actors);
  const now = elapsed();
  const dt = now - last.at || 1;
  const emittedRate = (source.acked - last.acked) / dt;
  const processedRate = (processed.total - last.processed) / dt;
  // lag: high-water mark − committed offset (Kafka's consumer lag); pending: − processed offset.
  const lagOf = (a: ActorStats) => a.offsets[CLICK_TOPIC]?.lag ?? null;
  const pendingOf = (a: ActorStats) => a.offsets[CLICK_TOPIC]?.pending ?? null;
  const total = (f: (a: ActorStats) => number | null) => actors.reduce<number | null>((s, a) => (s === null || f(a) === null ? null : s + f(a)!), 0);
  const totalLag = total(lagOf);
  const milestones = await milestoneCount();

  const lines = [
    `── ${now.toFixed(1).padStart(6)} s ── emitted ${fmt(emittedRate)}/s (${fmt(source.acked)})` +
      ` ── processed ${fmt(processedRate)}/s (${fmt(processed.total)}) ── lag ${fmt(totalLag)} (pending ${fmt(total(pendingOf))})` +
      (milestones !== undefined ? ` ── milestones ${fmt(milestones)}` : ''),
  ];
  if (source.failed > 0 || source.skipped > 0) {
    lines.push(`   emitter: ${fmt(source.failed)} failed, ${fmt(source.skipped)} skipped` + (source.lastError ? ` (${source.lastError.message})` : ''));
  }
  lines.push('   part  state       worker  processed     lag  pending  inflight');
  for (const a of actors) {
    lines.push(
      `   p${String(a.partition).padEnd(4)} ${a.state.padEnd(11)} ${(WORKERS === 0 ? 'main' : a.worker >= 0 ? `w${a.worker}` : '-').padStart(6)}` +
        ` ${fmt(a.processed).padStart(10)} ${fmt(lagOf(a)).padStart(7)} ${fmt(pendingOf(a)).padStart(8)} ${fmt(a.inflight).padStart(9)}`,
    );
  }
  try {
    lines.push(`   get('user-1') → ${JSON.stringify((await processor.get('user-1')) ?? null)}`);
  } catch (err) {
    lines.push(`   get('user-1') → ${(err as Error).message}`);
  }
  if (stopReason === undefined) console.log(lines.join('\n'));
  return { at: now, acked: source.acked, processed: processed.total };
}

/** Messages in the output topic so far (sum of its high-water marks). */
async function milestoneCount(): Promise<number | undefined> {
  try {
    const offsets = await admin!.fetchTopicOffsets(MILESTONE_TOPIC);
    return offsets.reduce((s, o) => s + Number(o.high), 0);
  } catch {
    return undefined;
  }
}

let shuttingDown: Promise<void> | undefined;

function shutdown(code: number): Promise<void> {
  shuttingDown ??= (async () => {
    // If something below hangs, do not hang forever: the harness's exit hook kills a broker it started.
    setTimeout(() => {
      console.error('demo: shutdown took longer than 60 s, exiting');
      process.exit(1);
    }, 60_000).unref();
    clearInterval(reporter);
    const step = async (what: string, f: () => Promise<unknown> | undefined) => {
      const started = performance.now();
      try {
        await f();
      } catch (err) {
        console.error(`demo: ${what} failed: ${(err as Error).message}`);
        code = code || 1;
      }
      logger.info({ ms: Math.round(performance.now() - started) }, what);
    };
    source?.stop();
    await step('monitor.close', () => web?.close());
    await step('emitter.close', () => emitter?.close());
    await step('processor.stop', () => {
      processed.update(processor?.stats().actors ?? []);
      return processor?.stop();
    });
    processed.update(processor?.stats().actors ?? []);
    await step('admin.disconnect', () => admin?.disconnect());
    await step('broker.stop', () => broker?.stop());
    if (storagePath) rmSync(storagePath, { recursive: true, force: true });
    const secs = elapsed();
    console.log(
      `demo stopped (${stopReason}) after ${secs.toFixed(1)} s: emitted ${fmt(source?.acked ?? 0)}, ` +
        `processed ${fmt(processed.total)}` +
        (broker && broker.source !== 'env' ? ', broker stopped' : '') +
        (code === 0 ? '' : ` (exit ${code})`),
    );
    process.exit(code);
  })();
  return shuttingDown;
}

mainDone = main().catch((err: Error) => {
  console.error(`demo failed: ${err.stack ?? err.message}`);
  exitCode = 1;
  stopReason ??= 'error';
  wakeMain?.();
  void shutdown(1);
});
