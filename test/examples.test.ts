// The examples run for real: Goka's 2-clicks (a processor, and a View behind HTTP in another
// process) and 3-messaging (join + lookup), each in child processes against the test broker.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { brokers, tempDir, unique, waitFor } from './helpers.js';

function node(script: string, env: Record<string, string>): { child: ChildProcess; out: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`../examples/${script}`, import.meta.url))], {
    env: { ...process.env, KAFKA_BROKERS: brokers().join(','), PARTITA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => out.push(...d.split('\n').filter(Boolean)));
  return { child, out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

test('3-messaging: the filter joins the blocker table and looks words up in the translator table', async (t) => {
  const run = node('messaging/run.js', { PARTITA_EXAMPLE_PREFIX: `${unique('msg')}-` });
  t.teardown(() => void run.child.kill('SIGKILL'));
  t.is(await run.exited, 0, run.out.join('\n'));
  t.true(run.out.includes('carol ← alice: hallo welt'), run.out.join('\n'));
  t.false(run.out.some((l) => l.startsWith('carol ← bob')), 'bob is blocked');
  t.true(run.out.includes('messaging: ok (bob is blocked, words translated)'));
});

test('2-clicks: a processor counts clicks; a view server in another process answers the counts over HTTP', async (t) => {
  const env = { PARTITA_EXAMPLE_PREFIX: `${unique('clicks')}-` };
  const proc = node('two-clicks/processor.js', { ...env, PARTITA_EXAMPLE_STORAGE: tempDir(t) });
  t.teardown(() => void proc.child.kill('SIGKILL'));
  await waitFor('the processor to be ready', () => proc.out.includes('processor ready: counting clicks (Ctrl-C to stop)'), 60_000);
  const server = node('two-clicks/view-server.js', { ...env, PORT: '0', PARTITA_EXAMPLE_STORAGE: tempDir(t) });
  t.teardown(() => void server.child.kill('SIGKILL'));
  const url = await waitFor('the view server to listen', () => server.out.map((l) => /view server on (\S+)/.exec(l)?.[1]).find(Boolean), 60_000);
  await waitFor('the view to be ready', () => server.out.includes('view ready'), 60_000);
  const clicks = async () => {
    const res = await fetch(`${url}user-3`);
    return res.status === 200 ? ((await res.json()) as { clicks: number }).clicks : 0;
  };
  const first = await waitFor('user-3 to have clicks', clicks, 60_000, 200);
  await waitFor('the count to go up as clicks flow', async () => (await clicks()) > first, 60_000, 200);
  t.is((await fetch(`${url}nobody`)).status, 404);
  proc.child.kill('SIGTERM');
  server.child.kill('SIGTERM');
  t.is(await proc.exited, 0);
  t.is(await server.exited, 0);
  t.true(proc.out.includes('processor stopped') && server.out.includes('view server stopped'));
});
