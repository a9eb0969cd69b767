// Runs inside a worker thread: loads the group module once, then hosts any number of
// partition actors, each on its own MessagePort.
import type { MessagePort } from 'node:worker_threads';
import { serializeError } from '../../errors.js';
import { loadGroupModule } from '../../graph/load.js';
import { PROTOCOL_VERSION, type HostToSupervisor, type HostWorkerData, type SupervisorToHost } from '../protocol.js';
import { ProtocolError } from '../../errors.js';
import { PartitionActor } from './partition-actor.js';
import { LOOP_DELAY_WINDOW_MS, LoopDelay } from '../loop-delay.js';

export async function runHost(parent: MessagePort, data: HostWorkerData): Promise<void> {
  const post = (m: HostToSupervisor) => parent.postMessage(m);
  const fatal = (err: unknown) => {
    post({ v: PROTOCOL_VERSION, kind: 'host-fatal', error: serializeError(err) });
    // Let the message leave before the thread dies; the supervisor treats exit as a crash too.
    setImmediate(() => process.exit(1));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  if (data.v !== PROTOCOL_VERSION) {
    fatal(new ProtocolError(`worker speaks protocol ${PROTOCOL_VERSION}, supervisor ${data.v}: mixed builds`));
    return;
  }
  try {
    const graph = await loadGroupModule(data.groupModule);
    parent.on('message', (m: SupervisorToHost) => {
      if (m.kind !== 'open') return fatal(new ProtocolError(`worker ${data.hostId}: unknown message ${String((m as { kind?: unknown }).kind)}`));
      new PartitionActor(m.port, graph, m.init).start();
    });
    post({ v: PROTOCOL_VERSION, kind: 'host-ready', group: graph.group });
    new LoopDelay().start(LOOP_DELAY_WINDOW_MS, (loopDelay) => post({ v: PROTOCOL_VERSION, kind: 'host-stats', loopDelay }));
  } catch (err) {
    fatal(err);
  }
}
