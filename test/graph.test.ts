import test from 'ava';
import { InvalidGraphError, codecs, defineGroup, input, inputs, join, lookup, loop, output, persist, visitor } from '../src/index.js';

const cb = () => undefined;
const s = codecs.string;

test('a valid graph exposes its edges', (t) => {
  const g = defineGroup('g', [inputs(['a', 'b'], s, cb), output('o', s), persist(s), loop(s, cb), join('j', s), lookup('l', s), visitor('v', cb)]);
  t.deepEqual(g.inputTopics(), ['a', 'b']);
  t.is(g.outputEdges[0]!.topic, 'o');
  t.truthy(g.persistEdge);
  t.truthy(g.loopEdge);
  t.is(g.joinEdges.length, 1);
  t.is(g.lookupEdges.length, 1);
  t.is(g.visitorEdges[0]!.name, 'v');
});

const invalid: [string, () => unknown, RegExp][] = [
  ['no input', () => defineGroup('g', [persist(s)]).validate(), /needs at least one input stream/],
  ['two persists', () => defineGroup('g', [input('a', s, cb), persist(s), persist(s)]), /2 persist edges/],
  ['two loops', () => defineGroup('g', [input('a', s, cb), loop(s, cb), loop(s, cb)]), /2 loop edges/],
  ['own table as input', () => defineGroup('g', [input('g-table', s, cb)]).validate(), /own table 'g-table'/],
  ['own loop as join', () => defineGroup('g', [input('a', s, cb), join('g-loop', s)]).validate(), /own loop topic 'g-loop'/],
  ['visitor without persist', () => defineGroup('g', [input('a', s, cb), visitor('v', cb)]).validate(), /visitors need a group table/],
  ['topic consumed twice', () => defineGroup('g', [input('a', s, cb), inputs(['b', 'a'], s, cb)]), /topic 'a' is consumed twice/],
  ['input also joined', () => defineGroup('g', [input('a', s, cb), join('a', s)]), /consumed twice \(input and join\)/],
  ['no codec', () => defineGroup('g', [input('a', undefined as never, cb)]), /edge #1 \(input\) needs a codec/],
  ['no callback', () => defineGroup('g', [input('a', s, undefined as never)]), /needs a callback/],
  ['bad group name', () => defineGroup('bad name!', [input('a', s, cb)]), /group name must be/],
  ['bad topic name', () => defineGroup('g', [input('a b', s, cb)]), /invalid topic name 'a b'/],
  ['not an edge', () => defineGroup('g', [input('a', s, cb), 42 as never]), /edge #2 is not an edge/],
];
for (const [name, make, msg] of invalid) {
  test(`invalid graph: ${name}`, (t) => {
    const err = t.throws(make, { instanceOf: InvalidGraphError, message: msg });
    t.is(err?.code, 'PARTITA_INVALID_GRAPH');
  });
}

test('naming options change which names are the own table and loop', (t) => {
  const g = defineGroup('g', [input('g-state', s, cb)]);
  t.notThrows(() => g.validate());
  t.throws(() => g.validate({ tableSuffix: '-state' }), { instanceOf: InvalidGraphError });
});
