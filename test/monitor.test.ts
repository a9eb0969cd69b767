// partita/web on a real broker: the live page in headless Chromium (Debian's, driven by
// playwright-core), the query page, /api/get, and /metrics after N records.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { Emitter, View, codecs } from '../src/index.js';
import { monitor } from '../src/web/index.js';
import { brokers, createTopics, tempDir, unique, waitFor } from './helpers.js';
import { start, waitProcessed } from './processor-helpers.js';

const CHROMIUM = process.env['PARTITA_CHROMIUM'] ?? '/usr/bin/chromium';

/** Metric samples of one name: labels → value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[kv[1]!] = kv[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

test('the monitor in headless Chromium: every partition with its state, the count rising, a key looked up; /metrics sums to N and lag reaches 0', async (t) => {
  t.true(existsSync(CHROMIUM), `Debian's chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
  const group = unique('monitored');
  const input = `${group}-in`;
  await createTopics([{ topic: input, partitions: 6 }]);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}&workUs=400`, import.meta.url);
  const { p } = await start({ group: url, workers: 1, mainThreadActors: true, storagePath: tempDir(t), offsetsRefreshMs: 500 }, t);
  const view = new View({ brokers: brokers(), table: `${group}-table`, codec: codecs.json<number>(), storage: 'memory' });
  void view.run().catch(() => undefined);
  t.teardown(() => view.stop());
  await view.ready();
  const m = await monitor({ port: 0, processors: [p], views: [view] });
  t.teardown(() => m.close());

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(m.url);

  // Every partition, with its state.
  const rows = page.locator(`tr[data-partition^="${group}/"]`);
  await waitFor('6 running partitions on the page', async () => (await rows.count()) === 6 &&
    (await rows.evaluateAll((trs) => trs.every((tr) => tr.getAttribute('data-state') === 'running'))), 20_000, 100);
  t.is(await page.locator(`tr[data-partition^="${group}-table/"]`).count(), 6, 'the view shows its 6 partitions too');
  const hosts = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent ?? ''));
  t.deepEqual(hosts.sort(), ['main', 'main', 'main', 'w0', 'w0', 'w0'], 'each partition names its thread (mainThreadActors: three on the main thread)');

  // The processed count rises while records flow.
  const n = 6000;
  const emitter = new Emitter({ brokers: brokers(), topic: input, codec: codecs.string });
  const emitted = Promise.all(Array.from({ length: n }, (_, i) => emitter.emit(`user-${i % 50}`, 'click')));
  const total = page.locator(`.total-processed[data-group="${group}"]`);
  const seen: number[] = [];
  await waitFor(`the page to show ${n} processed`, async () => {
    const v = Number((await total.textContent())!.replace(/,/g, ''));
    if (seen.at(-1) !== v) seen.push(v);
    return v === n;
  }, 90_000, 100);
  await emitted;
  await emitter.close();
  t.true(seen.some((v) => v > 0 && v < n), `the count rose step by step on the page: ${seen.join(' → ')}`);
  t.log(`processed on the page: ${seen.join(' → ')}`);
  await waitProcessed(p, n);

  // Lag reaches 0 on the page once everything is committed.
  await waitFor('lag 0 on every partition of the page', async () =>
    (await page.locator(`tr[data-partition^="${group}/"] td.lag`).allTextContents()).every((x) => x === '0'), 30_000, 200);
  const shot = process.env['PARTITA_SCREENSHOT'] ?? join(tmpdir(), `partita-monitor-${group}.png`);
  mkdirSync(dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  t.log(`screenshot: ${shot}`);

  // /query: a key looked up in the processor's table, and in the view.
  await page.goto(`${m.url}query`);
  await page.selectOption('#source', group);
  await page.fill('#key', 'user-7');
  await page.click('#lookup');
  await page.locator('#result[data-found="true"]').waitFor({ timeout: 10_000 });
  t.is((await page.textContent('#result'))!.trim(), String(n / 50));
  const fromView = await (await fetch(`${m.url}api/get?source=${group}-table&key=user-7`)).json() as { found: boolean; value: unknown };
  await waitFor('the view to have the final count', async () =>
    ((await (await fetch(`${m.url}api/get?source=${group}-table&key=user-7`)).json()) as { value: unknown }).value === n / 50, 10_000);
  t.true(fromView.found);
  const missing = await fetch(`${m.url}api/get?source=nope&key=x`);
  t.is(missing.status, 404);
  t.is(((await missing.json()) as { error: { code: string } }).error.code, 'PARTITA_NOT_FOUND');

  // /metrics: the processed counters sum to N; consumer lag gauges are 0 for all 6 partitions.
  const metrics = await (await fetch(`${m.url}metrics`)).text();
  const processed = samples(metrics, 'partita_records_processed_total').filter((s) => s.labels['group'] === group);
  t.is(processed.reduce((sum, s) => sum + s.value, 0), n);
  t.is(processed.length, 6);
  const produced = samples(metrics, 'partita_records_produced_total').find((s) => s.labels['kind'] === 'table');
  t.is(produced?.value, n, 'one changelog write per input record');
  const lag = samples(metrics, 'partita_consumer_lag').filter((s) => s.labels['group'] === group);
  t.is(lag.length, 6);
  t.true(lag.every((s) => s.value === 0), metrics);
  t.true(samples(metrics, 'partita_event_loop_delay_seconds').some((s) => s.labels['thread'] === '0'), 'worker threads report their event-loop delay');
  t.is(samples(metrics, 'partita_view_partitions').find((s) => s.labels['table'] === `${group}-table`)?.value, 6);
});
