// A TypeScript group module runs in worker threads (async order and deferCommit are tested on
// partita/tester: context.test.ts).
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTopics, tempDir, unique } from './helpers.js';
import { emitCounts } from './processor-helpers.js';

test('under tsx, a TypeScript group module runs in worker threads (tsx is registered inside them)', async (t) => {
  const group = unique('tsmod');
  const topic = unique('ts-in');
  await createTopics([{ topic, partitions: 2 }]);
  const expected = await emitCounts(topic, 200, 20);
  // the .ts sources, as an app run with `node --import tsx app.ts` would use them
  const url = new URL(`../../test/fixtures/counter.ts?group=${group}&input=${topic}`, import.meta.url);
  const script = fileURLToPath(new URL('../../test/fixtures/run-processor.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, url.href, tempDir(t), '1', '200', ...expected.keys()], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 0, out.slice(-2000));
  const line = out.split('\n').find((l) => l.startsWith('table '));
  t.truthy(line, out.slice(-2000));
  t.deepEqual(new Map(Object.entries(JSON.parse(line!.slice(6)))), expected);
});
