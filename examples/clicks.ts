/**
 * A click-counting group: the group module that `npm run demo` (examples/demo.ts) runs.
 *
 * A group module is imported twice over: by the Processor in the main thread (to read the graph)
 * and by every worker thread that hosts partition actors (to get the callbacks). So it must:
 *   - default-export the graph built by defineGroup(),
 *   - keep all the callback code (and whatever it needs) in the module itself,
 *   - read its configuration at module load, from something every thread sees: environment
 *     variables (worker threads get a copy of process.env) or the module URL's query string.
 *
 * What it does, per click on `demo-click-events` (key = user id):
 *   1. some CPU work, standing in for real per-message work (parsing, scoring, enrichment);
 *   2. updates the user's row in the group table (`demo-clicks-table`): { clicks, lastPage };
 *   3. every 100th click of a user, emits a milestone to `demo-milestones`.
 *
 * In an application, import from 'partita' instead of '../src/index.js'.
 */
import { codecs, defineGroup, output, persist } from '../src/index.js';

/** Topic names, exported so the demo (and anything else) uses the very same strings. */
export const CLICK_TOPIC = 'demo-click-events';
export const MILESTONE_TOPIC = 'demo-milestones';

/** One click, as the emitter writes it (JSON). The message key is the user id. */
export interface Click {
  user: string;
  page: string;
  /** Epoch milliseconds. */
  at: number;
}

/** The value kept per user in the group table. */
export interface UserClicks {
  clicks: number;
  lastPage: string;
}

/** Written to the output topic every MILESTONE_EVERY clicks of a user. */
export interface Milestone {
  user: string;
  clicks: number;
  page: string;
  at: number;
}

export const MILESTONE_EVERY = 100;

/**
 * Microseconds of CPU work per click (default 75). Read once, at module load, in every thread
 * that imports this module. 0 turns the work off.
 */
export const WORK_US = readWorkUs();

function readWorkUs(): number {
  const raw = process.env['PARTITA_DEMO_WORK_US'];
  if (raw === undefined || raw === '') return 75;
  const us = Number(raw);
  if (!Number.isFinite(us) || us < 0) {
    throw new Error(`PARTITA_DEMO_WORK_US must be a number of microseconds ≥ 0, got '${raw}'`);
  }
  return us;
}

/**
 * The stand-in for real work: FNV-1a over the click's text, round after round, until `us`
 * microseconds have passed. It is synchronous on purpose: it keeps this worker thread busy,
 * which is exactly the kind of callback that worker actors exist for.
 */
function busyHash(text: string, us: number): number {
  let h = 0x811c9dc5;
  if (us <= 0) return h;
  const deadline = performance.now() + us / 1000;
  do {
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  } while (performance.now() < deadline);
  return h >>> 0;
}

// Tables and outputs are declared first, so that the callbacks chained after them are typed
// with them: ctx.value() is a UserClicks | undefined, and ctx.emit accepts only MILESTONE_TOPIC
// with a Milestone.
export default defineGroup('demo-clicks', [
  // The group table: one UserClicks per user, in LMDB locally and in a compacted changelog.
  persist(codecs.json<UserClicks>()),
  output(MILESTONE_TOPIC, codecs.json<Milestone>()),
])
  // Messages of one partition arrive here one after the other; different partitions run in
  // parallel on the worker threads. ctx.key is the message key: the user id.
  .input(CLICK_TOPIC, codecs.json<Click>(), (ctx, click) => {
    busyHash(`${ctx.key}|${click.page}|${click.at}`, WORK_US);

    // ctx.value() reads this key's row (undefined the first time); setValue() writes it locally
    // at once and to the table's changelog in order, so a restart recovers it.
    const clicks = (ctx.value()?.clicks ?? 0) + 1;
    ctx.setValue({ clicks, lastPage: click.page });

    // Only declared outputs can be emitted to. The input offset is committed only once this
    // emit and the table write are acked by Kafka (at-least-once).
    if (clicks % MILESTONE_EVERY === 0) {
      ctx.emit(MILESTONE_TOPIC, ctx.key, { user: ctx.key, clicks, page: click.page, at: click.at });
    }
  });
