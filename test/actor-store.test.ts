// A partition actor over a MessageChannel, without Kafka: acked table writes reach its store
// (with their changelog checkpoint) before it closes, also when close() comes right after the acks;
// a key read once its write left the overlay for the store reads that write.
import test, { type ExecutionContext } from 'ava';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { PartitionActor } from '../src/runtime/actor/partition-actor.js';
import type { ActorInit, ActorToSupervisor, SupervisorToActor } from '../src/runtime/protocol.js';
import { BatchWriter, readBatch, RecordKind } from '../src/runtime/wire.js';
import { openStore } from '../src/storage/open.js';
import { codecs, defineGroup, persist, type GroupGraph } from '../src/index.js';
import { encodeUtf8 } from '../src/codec/utf8.js';
import { tempDir, waitFor } from './helpers.js';

const graph = defineGroup('actor-store', [persist(codecs.json<number>())]).input('in', codecs.json<number>(), (ctx, v) => ctx.setValue(v));

/** The supervisor's side of the channel: send, and wait for a message of a kind. */
function supervisorEnd(port: MessagePort) {
  const waiting: { kind: string; resolve: (m: ActorToSupervisor) => void }[] = [];
  const seen: ActorToSupervisor[] = [];
  port.on('message', (m: ActorToSupervisor) => {
    const i = waiting.findIndex((w) => w.kind === m.kind);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
    else seen.push(m);
  });
  return {
    send: (m: SupervisorToActor, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer),
    next<K extends ActorToSupervisor['kind']>(kind: K, ms = 5000): Promise<Extract<ActorToSupervisor, { kind: K }>> {
      const i = seen.findIndex((m) => m.kind === kind);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0] as Extract<ActorToSupervisor, { kind: K }>);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${kind}' from the actor within ${ms} ms`)), ms);
        waiting.push({ kind, resolve: (m) => { clearTimeout(timer); resolve(m as Extract<ActorToSupervisor, { kind: K }>); } });
      });
    },
  };
}

function input(offset: number, key: string, value: number): ArrayBuffer {
  const w = new BatchWriter(256);
  w.add({ kind: RecordKind.Input, topic: 'in', partition: 0, offset, timestamp: Date.now(), key: encodeUtf8(key), value: encodeUtf8(JSON.stringify(value)) });
  return w.finish();
}

/** An actor of partition 0 of `g` on a fresh LMDB directory, opened (its checkpoints returned) and not yet running. */
async function openActor(t: ExecutionContext, g: GroupGraph) {
  const init: ActorInit = {
    group: g.group, partition: 0, tableTopic: `${g.group}-table`, joins: [], lookups: [], loopTopic: `${g.group}-loop`,
    nilHandling: 'ignore', storage: { kind: 'lmdb', path: tempDir(t) }, flushEvery: 1000,
  };
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => port1.close());
  const sup = supervisorEnd(port1);
  new PartitionActor(port2, g, init).start();
  const { checkpoints } = await sup.next('opened');
  return { init, sup, checkpoints };
}

test('acked table writes are in the store, with their checkpoint, when the actor closes right after the acks', async (t) => {
  const { init, sup, checkpoints } = await openActor(t, graph);
  t.deepEqual(checkpoints, { 'actor-store-table': null });
  sup.send({ kind: 'recover-done' });
  await sup.next('running');
  // Two batches acked back to back: the second ack comes within the actor's store-apply spacing.
  for (const [offset, value] of [[0, 1], [1, 2]] as const) {
    const buffer = input(offset, 'k', value);
    sup.send({ kind: 'records', buffer }, [buffer]);
    const e = await sup.next('effects');
    t.is(e.tableWrites, 1);
    sup.send({ kind: 'acked', batch: e.batch, changelogOffset: 10 + offset });
  }
  sup.send({ kind: 'stop', seq: 1 });
  await sup.next('stopped');
  sup.send({ kind: 'close', seq: 2 });
  await sup.next('closed');

  const store = openStore(init.storage, init.tableTopic, 0);
  t.teardown(() => store.close());
  t.is(store.checkpoint(), 11);
  t.deepEqual(JSON.parse(Buffer.from(store.get('k')!).toString()), 2);
});

const sum = defineGroup('actor-sum', [persist(codecs.json<number>())]).input('in', codecs.json<number>(), (ctx, v) => ctx.setValue((ctx.value() ?? 0) + v));

test('a key read after its last write left the overlay for the store reads that write', async (t) => {
  const { init, sup } = await openActor(t, sum);
  sup.send({ kind: 'recover-done' });
  await sup.next('running');
  // A second handle on the actor's LMDB environment: it sees each apply commit.
  const store = openStore(init.storage, init.tableTopic, 0);
  t.teardown(() => store.close());
  // The first record reads the key while the store lacks it; each later one reads it after the
  // previous write left the overlay for the store.
  for (let offset = 0; offset < 4; offset++) {
    const buffer = input(offset, 'k', 1);
    sup.send({ kind: 'records', buffer }, [buffer]);
    const e = await sup.next('effects');
    const written = readBatch(e.buffer).filter((r) => r.kind === RecordKind.Table).map((r) => JSON.parse(Buffer.from(r.value!).toString()) as number);
    t.deepEqual(written, [offset + 1], `record ${offset}`);
    sup.send({ kind: 'acked', batch: e.batch, changelogOffset: offset });
    await waitFor(`the store's checkpoint at ${offset}`, () => store.checkpoint() === offset || undefined, 5000, 5);
  }
  sup.send({ kind: 'stop', seq: 1 });
  await sup.next('stopped');
  sup.send({ kind: 'close', seq: 2 });
  await sup.next('closed');
  t.is(JSON.parse(Buffer.from(store.get('k')!).toString()), 4);
});
