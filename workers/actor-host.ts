// Worker thread entry: bootstrap only; everything testable lives in src/runtime/actor.
import { parentPort, workerData } from 'node:worker_threads';
import { runHost } from '../src/runtime/actor/host.js';
import type { HostWorkerData } from '../src/runtime/protocol.js';

if (!parentPort) throw new Error('partita: workers/actor-host must run in a worker thread');
void runHost(parentPort, workerData as HostWorkerData);
