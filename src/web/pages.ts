// The monitor's two pages. Plain HTML and a small script each; charts by uPlot, served by the
// monitor itself from the installed package (the machines running this may have no internet).

const STYLE = `
  body { font: 14px system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
  header { background: #1d232a; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
  header a { color: #9cc7ff; text-decoration: none; } header h1 { font-size: 18px; margin: 0; }
  main { padding: 12px 20px; } section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; margin: 0 0 16px; padding: 10px 14px; }
  h2 { font-size: 16px; margin: 4px 0 8px; } .muted { color: #67707a; } .err { color: #b00020; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 3px 8px; border-bottom: 1px solid #eef0f2; white-space: nowrap; }
  th:first-child, td:first-child, td.state, th.state { text-align: left; }
  .state span { padding: 1px 6px; border-radius: 8px; background: #e9ecef; }
  .state .running { background: #d3f9d8; } .state .recovering, .state .opening, .state .catching-up, .state .initializing { background: #fff3bf; }
  .state .standby { background: #d0ebff; } .state .connecting, .state .failed { background: #ffe3e3; }
  .charts { display: flex; gap: 16px; flex-wrap: wrap; } .kv { display: flex; gap: 20px; flex-wrap: wrap; margin-bottom: 8px; }
  form { display: flex; gap: 8px; align-items: center; } input, select, button { font: inherit; padding: 4px 8px; }
  pre { background: #f1f3f5; padding: 10px; border-radius: 4px; overflow: auto; }
`;

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">${head}<style>${STYLE}</style></head>
<body><header><h1>partita</h1><a href="/">monitor</a><a href="/query">query</a><a href="/metrics">metrics</a><a href="/api/stats">stats (JSON)</a></header>
<main>${body}</main></body></html>`;
}

export function monitorPage(): string {
  return layout('partita monitor', `<div id="sources"><p class="muted">loading…</p></div>`,
    `<link rel="stylesheet" href="/assets/uPlot.min.css"><script src="/assets/uPlot.iife.min.js"></script><script type="module" src="/assets/monitor.js"></script>`);
}

export function queryPage(): string {
  return layout('partita query', `<section><h2>Look a key up</h2>
<form id="query"><label>source <select id="source" name="source"></select></label>
<label>key <input id="key" name="key" autocomplete="off" required></label><button id="lookup" type="submit">look up</button></form>
<pre id="result" class="muted">pick a table, enter a key</pre></section>`, `<script type="module" src="/assets/query.js"></script>`);
}

/** The monitor page's script: polls /api/stats once a second, redraws tables and charts. */
export const MONITOR_JS = `
const HISTORY = 300;
const series = new Map(); // source id -> { t: [], rate: [], lag: [], charts }
const applied_ = new Map(); // view table -> { at, applied }
const fmt = (n) => n === null || n === undefined ? '–' : typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 1 }) : String(n);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
const state = (s) => '<td class="state"><span class="' + esc(s) + '">' + esc(s) + '</span></td>';
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const sumOrNull = (xs) => xs.some((x) => x === null) ? null : sum(xs);

function recovery(r) {
  if (!r) return '–';
  const total = Math.max(0, r.to - r.from);
  return fmt(r.records) + (total ? ' / ' + fmt(total) : '') + ' in ' + fmt(r.ms) + ' ms';
}

function processorSection(s) {
  const id = 'p-' + s.group;
  const rows = [];
  // The thread that lists the partition (workers: 0 and mainThreadActors put actors on the main thread).
  const hostOf = (st, p) => { const t = st.threads.find((x) => x.partitions.indexOf(p) >= 0); return t && t.thread < 0 ? 'main' : t ? 'w' + t.thread : '–'; };
  for (const a of s.actors) {
    const topics = Object.entries(a.offsets);
    const shown = s.connecting && a.state === 'running' ? 'connecting' : a.state;
    const first = topics[0] ? topics[0][1] : {};
    rows.push('<tr data-partition="' + esc(s.group) + '/' + a.partition + '" data-state="' + esc(shown) + '"><td>' + a.partition + '</td>' + state(shown) +
      '<td>' + (a.worker < 0 ? '–' : hostOf(s, a.partition)) + '</td>' +
      '<td class="processed">' + fmt(a.processed) + '</td><td>' + fmt(a.rate) + '</td><td>' + fmt(a.inflight) + (a.paused ? ' (paused)' : '') + '</td>' +
      '<td>' + topics.map(([t, o]) => esc(t) + ': ' + fmt(o.highWatermark)).join('<br>') + '</td>' +
      '<td>' + topics.map(([, o]) => fmt(o.committed)).join('<br>') + '</td>' +
      '<td>' + topics.map(([, o]) => fmt(o.processed)).join('<br>') + '</td>' +
      '<td class="lag">' + fmt(a.lag) + '</td><td>' + fmt(sumOrNull(topics.map(([, o]) => o.pending))) + '</td>' +
      '<td>' + recovery(a.recovery) + '</td></tr>');
  }
  for (const sb of s.standby) {
    rows.push('<tr data-partition="' + esc(s.group) + '/' + sb.partition + '" data-state="' + esc(sb.state) + '"><td>' + sb.partition + '</td>' + state(sb.state) +
      '<td>–</td><td>–</td><td>–</td><td>–</td><td>' + fmt(sb.highWatermark) + '</td><td>–</td><td>' + fmt(sb.position) + '</td><td>–</td><td>–</td><td>' + recovery(sb.recovery) + '</td></tr>');
  }
  const threads = s.threads.map((t) => (t.thread < 0 ? 'main' : 'w' + t.thread) + ' [' + t.partitions.join(',') + ']' +
    (t.loopDelay ? ' loop delay p99 ' + fmt(t.loopDelay.p99) + ' ms' : '')).join(' · ');
  const processed = sum(s.actors.map((a) => a.processed));
  return '<section id="' + esc(id) + '"><h2>processor ' + esc(s.group) + ' ' + '<span class="state">' + '<span class="' + esc(s.state) + '">' + esc(s.connecting ? 'connecting' : s.state) + '</span></span></h2>' +
    (s.error ? '<p class="err">' + esc(s.error.name + ': ' + s.error.message) + '</p>' : '') +
    '<div class="kv"><span>processed <b class="total-processed" data-group="' + esc(s.group) + '">' + fmt(processed) + '</b></span>' +
    '<span>records/s <b>' + fmt(sum(s.actors.map((a) => a.rate))) + '</b></span><span>lag <b>' + fmt(sumOrNull(s.actors.map((a) => a.lag))) + '</b></span>' +
    '<span>partitions ' + s.actors.length + ' of ' + s.partitions + '</span><span>rebalances ' + s.counters.rebalances + '</span>' +
    '<span class="muted">inputs ' + esc(s.topics.inputs.join(', ')) + (s.topics.table ? ' · table ' + esc(s.topics.table) : '') + '</span><span class="muted">' + esc(threads) + '</span></div>' +
    '<div class="charts" id="charts-' + esc(id) + '"></div>' +
    '<table><thead><tr><th>partition</th><th class="state">state</th><th>thread</th><th>processed</th><th>rec/s</th><th>in flight</th><th>high-water</th><th>committed</th><th>processed @</th><th>lag</th><th>pending</th><th>recovery</th></tr></thead><tbody>' +
    rows.join('') + '</tbody></table></section>';
}

function viewSection(v) {
  const id = 'v-' + v.table;
  const rows = v.partitions.map((p) => '<tr data-partition="' + esc(v.table) + '/' + p.partition + '" data-state="' + esc(p.state) + '"><td>' + p.partition + '</td>' + state(p.state) +
    '<td>' + fmt(p.position) + '</td><td>' + fmt(p.highWatermark) + '</td><td class="lag">' + fmt(p.lag) + '</td><td>' + fmt(p.keys) + '</td><td>' + fmt(p.followed) + '</td><td>' + recovery(p.recovery) + '</td></tr>');
  return '<section id="' + esc(id) + '"><h2>view ' + esc(v.table) + ' <span class="state"><span class="' + esc(v.state) + '">' + esc(v.state) + '</span></span></h2>' +
    (v.error ? '<p class="err">' + esc(v.error.name + ': ' + v.error.message) + '</p>' : '') +
    '<div class="charts" id="charts-' + esc(id) + '"></div>' +
    '<table><thead><tr><th>partition</th><th class="state">state</th><th>position</th><th>high-water</th><th>lag</th><th>keys</th><th>followed</th><th>recovery</th></tr></thead><tbody>' +
    rows.join('') + '</tbody></table></section>';
}

function chart(el, title, label, data) {
  if (typeof uPlot === 'undefined') return null;
  return new uPlot({ title, width: 420, height: 160, scales: { x: { time: true } }, series: [{}, { label, stroke: '#1c7ed6', width: 2 }] }, data, el);
}

function record(id, now, rate, lag) {
  let s = series.get(id);
  if (!s) series.set(id, (s = { t: [], rate: [], lag: [], charts: null }));
  s.t.push(now / 1000); s.rate.push(rate); s.lag.push(lag);
  if (s.t.length > HISTORY) { s.t.shift(); s.rate.shift(); s.lag.shift(); }
  return s;
}

function drawCharts(id, s) {
  const el = document.getElementById('charts-' + id);
  if (!el) return;
  // The sections are re-rendered each second: the charts move into the new container.
  if (!s.charts) s.charts = [chart(document.createElement('div'), 'records/s', 'records/s', [s.t, s.rate]), chart(document.createElement('div'), 'lag', 'lag', [s.t, s.lag])];
  for (const c of s.charts) if (c) { el.appendChild(c.root); }
  s.charts[0]?.setData([s.t, s.rate]);
  s.charts[1]?.setData([s.t, s.lag.map((x) => x ?? null)]);
}

async function tick() {
  try {
    const res = await fetch('/api/stats');
    const stats = await res.json();
    const now = stats.at;
    const html = [...stats.processors.map(processorSection), ...stats.views.map(viewSection)];
    document.getElementById('sources').innerHTML = html.join('') || '<p class="muted">no processor or view registered</p>';
    for (const p of stats.processors) drawCharts('p-' + p.group, record('p-' + p.group, now, sum(p.actors.map((a) => a.rate)), sumOrNull(p.actors.map((a) => a.lag))));
    for (const v of stats.views) {
      // A view reports records applied so far: its rate is the change since the last poll.
      const applied = sum(v.partitions.map((p) => p.followed + (p.recovery ? p.recovery.records : 0)));
      const prev = applied_.get(v.table);
      applied_.set(v.table, { at: now, applied });
      const rate = prev && now > prev.at ? ((applied - prev.applied) * 1000) / (now - prev.at) : 0;
      drawCharts('v-' + v.table, record('v-' + v.table, now, rate, sumOrNull(v.partitions.map((p) => p.lag))));
    }
    document.body.dataset.updated = String(now);
  } catch (err) {
    document.getElementById('sources').insertAdjacentHTML('afterbegin', '<p class="err">monitor unreachable: ' + esc(err.message) + '</p>');
  }
}
tick();
setInterval(tick, 1000);
`;

/** The query page's script: lists the sources, looks a key up through /api/get. */
export const QUERY_JS = `
const select = document.getElementById('source');
const result = document.getElementById('result');
const stats = await (await fetch('/api/stats')).json();
const sources = [...stats.processors.filter((p) => p.topics.table).map((p) => ({ id: p.group, label: 'processor ' + p.group + ' (' + p.topics.table + ')' })),
  ...stats.views.map((v) => ({ id: v.table, label: 'view ' + v.table }))];
for (const s of sources) select.add(new Option(s.label, s.id));
const params = new URLSearchParams(location.search);
if (params.get('source')) select.value = params.get('source');
if (params.get('key')) document.getElementById('key').value = params.get('key');
async function lookup() {
  const source = select.value;
  const key = document.getElementById('key').value;
  history.replaceState(null, '', '/query?' + new URLSearchParams({ source, key }));
  const res = await fetch('/api/get?' + new URLSearchParams({ source, key }));
  const body = await res.json();
  result.className = res.ok ? '' : 'err';
  result.textContent = res.ok ? (body.found ? JSON.stringify(body.value, null, 2) : 'not found: ' + key) : body.error.name + ': ' + body.error.message;
  result.dataset.found = String(res.ok && body.found);
}
document.getElementById('query').addEventListener('submit', (e) => { e.preventDefault(); void lookup(); });
if (params.get('key')) void lookup();
document.body.dataset.ready = 'true';
`;
