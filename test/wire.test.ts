import test from 'ava';
import { BatchWriter, readBatch, RecordKind } from '../src/runtime/wire.js';
import { deserializeError, ProcessingError, serializeError } from '../src/errors.js';

test('record batches round-trip through one transferable buffer', (t) => {
  const w = new BatchWriter(8);
  const enc = new TextEncoder();
  w.add({ kind: RecordKind.Input, topic: 'a', partition: 3, offset: 2 ** 40, timestamp: 1700000000123, key: enc.encode('k'), value: null, headers: { h: enc.encode('v'), e: new Uint8Array(0) } });
  w.add({ kind: RecordKind.Emit, topic: 'bé', partition: -1, offset: -1, timestamp: 0, key: null, value: new Uint8Array(1000).fill(7) });
  const buf = w.finish();
  const [a, b] = readBatch(structuredClone(buf, { transfer: [buf] }));
  t.is(a!.topic, 'a');
  t.is(a!.offset, 2 ** 40);
  t.is(a!.partition, 3);
  t.is(a!.timestamp, 1700000000123);
  t.is(a!.value, null);
  t.deepEqual([...a!.key!], [...enc.encode('k')]);
  t.deepEqual(Object.keys(a!.headers!), ['h', 'e']);
  t.is(b!.kind, RecordKind.Emit);
  t.is(b!.topic, 'bé');
  t.is(b!.key, null);
  t.is(b!.value!.length, 1000);
  t.is(b!.headers, undefined);
});

test('errors cross a thread boundary with class, code, fields and cause', (t) => {
  const original = new ProcessingError({ group: 'g', topic: 't', partition: 2, offset: '9', key: 'k' }, 'boom', { cause: new TypeError('inner') });
  const back = deserializeError(structuredClone(serializeError(original)));
  t.true(back instanceof ProcessingError);
  const pe = back as ProcessingError;
  t.is(pe.code, 'PARTITA_PROCESSING');
  t.is(pe.partition, 2);
  t.is(pe.key, 'k');
  t.is(pe.message, original.message);
  t.is((pe.cause as Error).message, 'inner');
  t.is((pe.cause as Error).name, 'TypeError');
});
