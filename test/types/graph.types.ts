// Type tests: compiled by `npm run build` (and so by `npm test` and CI), never run. Every
// expect-error directive below marks a mistake that must stay a compile error; `same<A, B>()`
// fails to compile when an inferred type drifts. Nothing here is executed.
import {
  Emitter, Processor, View, codecs, defineGroup, input, join, lookup, output, persist, visitor,
  type ContextOf, type PartitionStats, type ProcessorStats, type TableValue, type ViewStats,
} from '../../src/index.js';
import { Tester } from '../../src/tester/index.js';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
const same = <A, B>(..._proof: Equal<A, B> extends true ? [] : [never]): void => undefined;

interface Click { page: string }
interface Alert { user: string; n: number }
interface Profile { name: string }

// The recommended form: declarations in the array, callbacks chained after them.
export const clicks = defineGroup('types-clicks', [
  persist(codecs.int64),
  output('alerts', codecs.json<Alert>()),
  join('profiles', codecs.json<Profile>()),
  lookup('countries', codecs.string),
])
  .loop(codecs.json<{ hops: number }>(), (ctx, msg) => {
    same<typeof msg, { hops: number }>();
    ctx.loopback(ctx.key, { hops: msg.hops + 1 });
    // @ts-expect-error loopback with the wrong value type
    ctx.loopback(ctx.key, 'again');
  })
  .input('types-clicks-in', codecs.json<Click>(), (ctx, click) => {
    same<typeof click, Click>();
    same<ReturnType<typeof ctx.value>, bigint | undefined>();
    const n = (ctx.value() ?? 0n) + 1n;
    ctx.setValue(n);
    // @ts-expect-error an int64 table holds bigints
    const bad: number = ctx.value() ?? 0;
    // @ts-expect-error setValue with a string on an int64 table
    ctx.setValue('x');
    ctx.emit('alerts', ctx.key, { user: ctx.key, n: Number(n) });
    ctx.emit('alerts', ctx.key, null); // a tombstone
    // @ts-expect-error emit to an undeclared output
    ctx.emit('alertz', ctx.key, { user: ctx.key, n: 1 });
    // @ts-expect-error emit with the wrong value type
    ctx.emit('alerts', ctx.key, { user: ctx.key });
    ctx.loopback(ctx.key, { hops: 0 });
    same<ReturnType<typeof ctx.join<'profiles'>>, Profile | undefined>();
    const profile = ctx.join('profiles');
    same<typeof profile, Profile | undefined>();
    // @ts-expect-error join of an undeclared table
    ctx.join('users');
    const country = ctx.lookup('countries', click.page);
    same<typeof country, string | undefined>();
    // @ts-expect-error lookup of an undeclared table
    ctx.lookup('cities', click.page);
    void bad;
  })
  .visitor('reset', (ctx, meta: { to: bigint }) => ctx.setValue(meta.to));

same<TableValue<typeof clicks>, bigint>();

// A group without persist or loop has no value(), setValue() or loopback().
defineGroup('types-stateless', [output('out', codecs.string)]).input('types-in', codecs.string, (ctx, v) => {
  ctx.emit('out', ctx.key, v.toUpperCase());
  // @ts-expect-error no persist: no group table
  ctx.value();
  // @ts-expect-error no persist: no group table
  ctx.setValue(1);
  // @ts-expect-error no loop edge
  ctx.loopback(ctx.key, v);
  // @ts-expect-error no outputs besides 'out'
  ctx.emit('other', ctx.key, v);
});

// A callback written outside the graph takes the graph's context type.
type ClicksContext = ContextOf<typeof clicks>;
export const alertOf = (ctx: ClicksContext): void => ctx.emit('alerts', ctx.key, { user: ctx.key, n: Number(ctx.value() ?? 0n) });

// The array form (Goka's shape, and plain JS) types the processor's reads from its persist edge;
// callbacks inside the array see a loose context.
const arrayForm = defineGroup('types-array', [input('types-array-in', codecs.string, (ctx) => ctx.setValue(1n)), persist(codecs.int64), visitor('v', () => undefined)]);
same<TableValue<typeof arrayForm>, bigint>();

export async function readers(signal: AbortSignal): Promise<void> {
  // A graph object: the processor's type comes with it.
  const inline = new Processor({ brokers: ['b:9092'], group: clicks, workers: 0 });
  same<Awaited<ReturnType<typeof inline.get>>, bigint | undefined>();
  await inline.visitAll('reset', { to: 0n }, { signal });
  // @ts-expect-error an undeclared visitor
  await inline.visitAll('rest', { to: 0n });
  // @ts-expect-error the visitor's meta has the wrong type
  await inline.visitAll('reset', { to: 'zero' });

  // A module URL carries no type: it is given as the parameter; without it, reads are unknown.
  const typed = new Processor<typeof clicks>({ brokers: ['b:9092'], group: new URL('file:///clicks.js') });
  same<Awaited<ReturnType<typeof typed.get>>, bigint | undefined>();
  const untyped = new Processor({ brokers: ['b:9092'], group: new URL('file:///clicks.js') });
  same<Awaited<ReturnType<typeof untyped.get>>, unknown>();
  // @ts-expect-error an unknown value is not a number
  const n: number = await untyped.get('k');

  same<ReturnType<typeof inline.stats>, ProcessorStats>();
  same<ProcessorStats['actors'][number], PartitionStats>();

  const view = new View({ brokers: ['b:9092'], table: 'types-clicks-table', codec: codecs.int64 });
  same<Awaited<ReturnType<typeof view.get>>, bigint | undefined>();
  same<ReturnType<typeof view.stats>, ViewStats>();

  const emitter = new Emitter({ brokers: ['b:9092'], topic: 'types-clicks-in', codec: codecs.json<Click>() });
  // @ts-expect-error an emitter takes its codec's type
  await emitter.emit('k', { pages: 'x' });

  const t = new Tester({ partitions: 2 });
  const tp = t.processor(clicks);
  same<Awaited<ReturnType<typeof tp.get>>, bigint | undefined>();
  const alerts = tp.output('alerts').next();
  same<NonNullable<typeof alerts>['value'], Alert | null>();
  // @ts-expect-error not an output of the group
  tp.output('clicks');
  const table = await tp.table();
  same<ReturnType<typeof table.get>, bigint | undefined>();
  // @ts-expect-error the tester's emitter takes its codec's type
  await t.emitter('types-clicks-in', codecs.json<Click>()).emit('k', { pages: 'x' });
  void n;
}
