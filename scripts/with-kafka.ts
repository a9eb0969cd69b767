/**
 * node dist/scripts/with-kafka.js <cmd> [args...]
 *
 * Finds or starts one Kafka broker (see broker.ts), runs <cmd> with KAFKA_BROKERS set and
 * <repo>/node_modules/.bin first on PATH, propagates its exit code and always stops the broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { findOrStartBroker, repoRoot, type BrokerHandle } from './broker.js';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  process.stderr.write('usage: node dist/scripts/with-kafka.js <cmd> [args...]\n');
  process.exit(2);
}

const say = (line: string) => process.stderr.write(`[with-kafka] ${line}\n`);
const signalExitCode = (sig: NodeJS.Signals) => 128 + (constants.signals[sig] ?? 1);

let broker: BrokerHandle | undefined;
let child: ChildProcess | undefined;
let finishing = false;
let signalled: NodeJS.Signals | undefined;

async function finish(code: number): Promise<never> {
  if (!finishing) {
    finishing = true;
    try {
      await broker?.stop();
    } catch (err) {
      say(`stopping the broker failed: ${(err as Error).message}`);
      if (code === 0) code = 1;
    }
  }
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      // First signal: pass it on and let the command wind down; its exit then stops the broker.
      // Second one: stop waiting.
      if (signalled) child.kill('SIGKILL');
      else child.kill(sig);
      signalled = sig;
      return;
    }
    // Still starting the broker (or already finishing): stop what we have and leave.
    signalled = sig;
    void finish(signalExitCode(sig));
  });
}

try {
  broker = await findOrStartBroker({ log: say });
} catch (err) {
  say((err as Error).message);
  process.exit(1);
}
if (signalled) await finish(signalExitCode(signalled));

const env = {
  ...process.env,
  KAFKA_BROKERS: broker.brokers.join(','),
  PATH: [join(repoRoot, 'node_modules', '.bin'), process.env.PATH].filter(Boolean).join(delimiter),
};
child = spawn(cmd, args, { stdio: 'inherit', shell: false, env });
child.once('error', (err) => {
  say(`cannot run ${cmd}: ${err.message}`);
  void finish(127);
});
child.once('exit', (code, sig) => {
  void finish(code ?? (sig ? signalExitCode(sig) : 1));
});
