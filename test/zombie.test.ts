// kafkajs #1639: a stop while the initial join is still in progress. A killed member holds the
// group (its session has not expired), so a new instance's join waits; stopping it meanwhile
// must still leave no member behind, and its process must end on its own.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { brokers, createTopics, kafka, tempDir, unique, waitFor } from './helpers.js';

function child(url: URL, storagePath: string) {
  const c = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/stoppable.js', import.meta.url)), brokers().join(','), url.href, storagePath, '0'], {
    env: { ...process.env, PARTITA_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out: string[] = [];
  c.stdout.setEncoding('utf8').on('data', (d: string) => out.push(...d.split('\n').filter(Boolean)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => c.once('exit', (code, signal) => r({ code, signal })));
  return { c, out, exited };
}

async function describe(group: string): Promise<{ state: string; members: string[] }> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return { state: groups[0]?.state ?? 'Dead', members: (groups[0]?.members ?? []).map((m) => m.memberId) };
  } finally {
    await admin.disconnect();
  }
}
const members = async (group: string) => (await describe(group)).members;

test('stop() during a join that is still in progress leaves no member behind and the process exits by itself', async (t) => {
  const group = unique('joinstop');
  const input = unique('joinstop-in');
  await createTopics([{ topic: input, partitions: 2 }]);
  const url = new URL(`./fixtures/counter.js?group=${group}&input=${input}`, import.meta.url);
  const a = child(url, tempDir(t));
  t.teardown(() => void a.c.kill('SIGKILL'));
  await waitFor('the first instance to be ready', () => a.out.includes('ready'), 60_000);
  a.c.kill('SIGKILL'); // its member stays in the group until its session (6 s) expires
  await a.exited;
  const dead = await members(group);
  t.is(dead.length, 1, 'the killed member is still listed');

  const b = child(url, tempDir(t));
  t.teardown(() => void b.c.kill('SIGKILL'));
  // b's join is held up by the dead member (the group rebalances, waiting for it): stop b then.
  await waitFor('b to be started', () => b.out.includes('started'), 30_000);
  await waitFor('b to be joining', async () => (await describe(group)).state === 'PreparingRebalance', 10_000, 50);
  t.false(b.out.includes('ready'), 'b has not joined yet');
  const stopAt = Date.now();
  b.c.kill('SIGTERM');
  const end = await Promise.race([b.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 40_000))]);
  t.not(end, 'hung', 'the process ended on its own');
  t.deepEqual(end, { code: 0, signal: null });
  t.log(`b exited ${Date.now() - stopAt} ms after SIGTERM; printed: ${b.out.join(', ') || 'nothing'}`);
  await waitFor('the group to have no member', async () => (await members(group)).length === 0, 30_000, 250);
  // And none comes back later (a zombie would rejoin after its restart timer).
  const quietUntil = Date.now() + 3000;
  while (Date.now() < quietUntil) {
    t.deepEqual(await members(group), [], 'no member rejoined');
    await new Promise((r) => setTimeout(r, 500));
  }
});
