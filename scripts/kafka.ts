/**
 * npm run kafka – keep one broker running for development until Ctrl-C.
 * Prints KAFKA_BROKERS=<address> on stdout (everything else goes to stderr).
 */
import { findOrStartBroker } from './broker.js';

const say = (line: string) => process.stderr.write(`[kafka] ${line}\n`);

let stopRequested = false;
const stopped = new Promise<NodeJS.Signals>((resolve) => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopRequested) {
        say('second signal: exiting now');
        process.exit(130); // the 'exit' hook in broker.ts SIGKILLs the JVM
      }
      stopRequested = true;
      resolve(sig);
    });
  }
});

const broker = await findOrStartBroker({ log: say, profile: process.env.KAFKA_PROFILE === 'bench' ? 'bench' : 'test' });
process.stdout.write(`KAFKA_BROKERS=${broker.brokers.join(',')}\n`);
if (!stopRequested) say('running; press Ctrl-C to stop');

const sig = await stopped;
say(`${sig}: stopping broker…`);
await broker.stop();
say('stopped');
process.exit(0);
