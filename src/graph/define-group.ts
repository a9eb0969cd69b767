import { isCodec, type Codec } from '../codec/codec.js';
import { InvalidGraphError } from '../errors.js';
import type { AnySpec, Context, EmptySpec, GroupSpec } from './context.js';
import type { TableUpdater, UpdateCallback } from '../table/update.js';
import { isLegalTopicName, loopTopic, tableTopic, type NamingOptions } from './naming.js';

/** A callback of an input, loop or visitor edge; `S` is what the group declares. */
export type Callback<T, S extends GroupSpec = AnySpec> = (ctx: Context<S>, value: T) => void | Promise<void>;

// The type parameters of the edges carry what each declares (topic names, value types), so
// that a graph's spec can be read off its edges; the runtime ignores them.
export interface InputEdge<T = any> { readonly kind: 'input'; readonly topics: readonly string[]; readonly codec: Codec<T>; readonly callback: Callback<any> }
export interface OutputEdge<Topic extends string = string, T = any> { readonly kind: 'output'; readonly topic: Topic; readonly codec: Codec<T> }
/** What a table edge stores for a changelog record it restores or follows (Goka's update callback). */
export interface TableEdgeOptions<T> { onUpdate?: UpdateCallback<T> }

export interface PersistEdge<T = any> { readonly kind: 'persist'; readonly codec: Codec<T>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface LoopEdge<T = any> { readonly kind: 'loop'; readonly codec: Codec<T>; readonly callback: Callback<any> }
export interface JoinEdge<Table extends string = string, T = any> { readonly kind: 'join'; readonly table: Table; readonly codec: Codec<T>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface LookupEdge<Table extends string = string, T = any> { readonly kind: 'lookup'; readonly table: Table; readonly codec: Codec<T>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface VisitorEdge<Name extends string = string, M = any> { readonly kind: 'visitor'; readonly name: Name; readonly callback: Callback<any>; readonly meta?: M }

export type Edge = InputEdge | OutputEdge | PersistEdge | LoopEdge | JoinEdge | LookupEdge | VisitorEdge;

// Edge helpers for the array form. Callbacks written inside the array see a loosely typed
// context (TypeScript checks a call before it has seen the array's other elements); the
// chained methods of GroupGraph give callbacks the declared types.
export function input<T>(topic: string, codec: Codec<T>, callback: Callback<T>): InputEdge<T> {
  return { kind: 'input', topics: [topic], codec, callback };
}
export function inputs<T>(topics: string[], codec: Codec<T>, callback: Callback<T>): InputEdge<T> {
  return { kind: 'input', topics: [...topics], codec, callback };
}
export function output<Topic extends string, T>(topic: Topic, codec: Codec<T>): OutputEdge<Topic, T> {
  return { kind: 'output', topic, codec };
}
export function persist<T>(codec: Codec<T>, options: TableEdgeOptions<T> = {}): PersistEdge<T> {
  return { kind: 'persist', codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function loop<T>(codec: Codec<T>, callback: Callback<T>): LoopEdge<T> {
  return { kind: 'loop', codec, callback };
}
export function join<Table extends string, T>(table: Table, codec: Codec<T>, options: TableEdgeOptions<T> = {}): JoinEdge<Table, T> {
  return { kind: 'join', table, codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function lookup<Table extends string, T>(table: Table, codec: Codec<T>, options: TableEdgeOptions<T> = {}): LookupEdge<Table, T> {
  return { kind: 'lookup', table, codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function visitor<Name extends string, M = any>(name: Name, callback: Callback<M>): VisitorEdge<Name, M> {
  return { kind: 'visitor', name, callback };
}

type Found<U, E> = Extract<U, E>;
type ValueOf<U> = [Found<U, PersistEdge>] extends [never] ? never : Found<U, PersistEdge> extends PersistEdge<infer T> ? T : never;
type LoopOf<U> = [Found<U, LoopEdge>] extends [never] ? never : Found<U, LoopEdge> extends LoopEdge<infer T> ? T : never;
type OutputsOf<U> = { [E in Found<U, OutputEdge> as E['topic']]: E extends OutputEdge<string, infer T> ? T : never };
type JoinsOf<U> = { [E in Found<U, JoinEdge> as E['table']]: E extends JoinEdge<string, infer T> ? T : never };
type LookupsOf<U> = { [E in Found<U, LookupEdge> as E['table']]: E extends LookupEdge<string, infer T> ? T : never };
type VisitorsOf<U> = { [E in Found<U, VisitorEdge> as E['name']]: E extends VisitorEdge<string, infer M> ? M : never };

/** The spec declared by an array of edges. */
export type SpecOf<Edges extends readonly Edge[]> = {
  readonly value: ValueOf<Edges[number]>;
  readonly outputs: OutputsOf<Edges[number]>;
  readonly loop: LoopOf<Edges[number]>;
  readonly joins: JoinsOf<Edges[number]>;
  readonly lookups: LookupsOf<Edges[number]>;
  readonly visitors: VisitorsOf<Edges[number]>;
};

type With<S extends GroupSpec, K extends keyof GroupSpec, V> = Omit<S, K> & { readonly [P in K]: V };
type Added<S extends GroupSpec, K extends 'outputs' | 'joins' | 'lookups' | 'visitors', Name extends string, T> = With<S, K, S[K] & { readonly [P in Name]: T }>;
/** Flattens the intersections the chained methods build, for readable hovers and errors. */
type Flat<S> = { readonly [K in keyof S]: S[K] } & {};
/** The type side of a graph: what a Processor, tester or helper type needs to know of it. */
export interface GraphType<S extends GroupSpec = GroupSpec> { readonly spec: S }
type SpecOfGraph<G> = G extends GraphType<infer S> ? S : GroupSpec;
/** The group table's value type of a graph. */
export type TableValue<G> = SpecOfGraph<G>['value'];
/** The visitor names of a graph, and the type of the meta each takes. */
export type VisitorName<G> = keyof SpecOfGraph<G>['visitors'] & string;
export type VisitorMeta<G, Name extends string> = SpecOfGraph<G>['visitors'][Name];
/** The declared outputs of a graph, and their value types. */
export type OutputName<G> = keyof SpecOfGraph<G>['outputs'] & string;
export type OutputValue<G, Topic extends string> = SpecOfGraph<G>['outputs'][Topic];
/** The callback context a graph gives its callbacks (for callbacks written outside the graph). */
export type ContextOf<G> = Context<SpecOfGraph<G>>;

/**
 * The definition of a processor group; see defineGroup. Immutable: each chained method returns
 * a new graph with one more edge, typed with what that edge declares.
 */
export class GroupGraph<S extends GroupSpec = any> {
  /** Type-level only: what the edges declare. */
  declare readonly spec: S;
  readonly group: string;
  readonly edges: readonly Edge[];

  constructor(group: string, edges: readonly Edge[]) {
    this.group = group;
    this.edges = edges;
  }

  // Chained edges. Declare tables, outputs and the loop before the callbacks that use them:
  // a callback's context has the types of the edges declared before it.
  persist<T>(codec: Codec<T>, options?: TableEdgeOptions<T>): GroupGraph<Flat<With<S, 'value', T>>> {
    return this.#with(persist(codec, options));
  }
  output<Topic extends string, T>(topic: Topic, codec: Codec<T>): GroupGraph<Flat<Added<S, 'outputs', Topic, T>>> {
    return this.#with(output(topic, codec));
  }
  join<Table extends string, T>(table: Table, codec: Codec<T>, options?: TableEdgeOptions<T>): GroupGraph<Flat<Added<S, 'joins', Table, T>>> {
    return this.#with(join(table, codec, options));
  }
  lookup<Table extends string, T>(table: Table, codec: Codec<T>, options?: TableEdgeOptions<T>): GroupGraph<Flat<Added<S, 'lookups', Table, T>>> {
    return this.#with(lookup(table, codec, options));
  }
  loop<T>(codec: Codec<T>, callback: Callback<T, Flat<With<S, 'loop', T>>>): GroupGraph<Flat<With<S, 'loop', T>>> {
    return this.#with(loop(codec, callback as unknown as Callback<T>));
  }
  input<T>(topic: string, codec: Codec<T>, callback: Callback<T, S>): GroupGraph<S> {
    return this.#with(input(topic, codec, callback as unknown as Callback<T>));
  }
  inputs<T>(topics: string[], codec: Codec<T>, callback: Callback<T, S>): GroupGraph<S> {
    return this.#with(inputs(topics, codec, callback as unknown as Callback<T>));
  }
  /** A visitor; `M` is the type of the `meta` that visitAll passes to it. */
  visitor<Name extends string, M = undefined>(name: Name, callback: Callback<M, S>): GroupGraph<Flat<Added<S, 'visitors', Name, M>>> {
    return this.#with(visitor(name, callback as unknown as Callback<M>));
  }

  #with<R extends GroupSpec>(e: Edge): GroupGraph<R> {
    const edges = Object.freeze([...this.edges, e]);
    checkEdges(this.group, edges);
    return new GroupGraph<R>(this.group, edges);
  }

  get inputEdges(): InputEdge[] { return this.edges.filter((e): e is InputEdge => e.kind === 'input'); }
  get outputEdges(): OutputEdge[] { return this.edges.filter((e): e is OutputEdge => e.kind === 'output'); }
  get persistEdge(): PersistEdge | undefined { return this.edges.find((e): e is PersistEdge => e.kind === 'persist'); }
  get loopEdge(): LoopEdge | undefined { return this.edges.find((e): e is LoopEdge => e.kind === 'loop'); }
  get joinEdges(): JoinEdge[] { return this.edges.filter((e): e is JoinEdge => e.kind === 'join'); }
  get lookupEdges(): LookupEdge[] { return this.edges.filter((e): e is LookupEdge => e.kind === 'lookup'); }
  get visitorEdges(): VisitorEdge[] { return this.edges.filter((e): e is VisitorEdge => e.kind === 'visitor'); }

  /** The codec and update callback of a table this group restores (`own`: its group table's topic), if it has a callback. */
  updateFor(table: string, own: string): TableUpdater | undefined {
    const e = table === own ? this.persistEdge : this.edges.find((x): x is JoinEdge | LookupEdge => (x.kind === 'join' || x.kind === 'lookup') && x.table === table);
    return e?.onUpdate ? { codec: e.codec, onUpdate: e.onUpdate } : undefined;
  }

  /** Every input stream topic, in declaration order. */
  inputTopics(): string[] { return this.inputEdges.flatMap((e) => e.topics); }

  /**
   * Checks the rules of a complete graph (at least one input, visitors only with persist) and
   * those that depend on naming options. Processors, the tester and module loading call it.
   */
  validate(naming: NamingOptions = {}): this {
    const fail = (msg: string): never => { throw new InvalidGraphError(this.group, msg); };
    if (this.inputEdges.length === 0) fail('it needs at least one input stream');
    if (this.visitorEdges.length > 0 && !this.persistEdge) fail('visitors need a group table: add persist()');
    const table = tableTopic(this.group, naming);
    const loopT = loopTopic(this.group, naming);
    for (const e of this.edges) {
      const named = e.kind === 'input' ? e.topics : e.kind === 'output' ? [e.topic] : e.kind === 'join' || e.kind === 'lookup' ? [e.table] : [];
      for (const t of named) {
        if (t === table) fail(`${e.kind} edge names the group's own table '${t}' (use ctx.value/setValue)`);
        if (t === loopT) fail(`${e.kind} edge names the group's own loop topic '${t}' (use loop() and ctx.loopback)`);
      }
    }
    return this;
  }
}

export function isGroupGraph(v: unknown): v is GroupGraph {
  return v instanceof GroupGraph ||
    (typeof v === 'object' && v !== null && typeof (v as GroupGraph).group === 'string' && Array.isArray((v as GroupGraph).edges) &&
      typeof (v as GroupGraph).inputTopics === 'function');
}

/** The rules each edge must keep as it is added: well-formed edges, no topic consumed twice, at most one persist and one loop. */
function checkEdges(group: string, edges: readonly Edge[]): void {
  const fail = (msg: string): never => { throw new InvalidGraphError(group, msg); };
  const consumed = new Map<string, string>();
  const outputs = new Set<string>();
  const visitors = new Set<string>();
  let persists = 0;
  let loops = 0;
  edges.forEach((e, i) => {
    const where = `edge #${i + 1}`;
    if (!e || typeof e !== 'object' || typeof (e as Edge).kind !== 'string') fail(`${where} is not an edge (use input(), output(), persist(), ...)`);
    const needsCodec = e.kind !== 'visitor';
    if (needsCodec && !isCodec((e as { codec?: unknown }).codec)) fail(`${where} (${e.kind}) needs a codec with encode() and decode()`);
    if ((e.kind === 'input' || e.kind === 'loop' || e.kind === 'visitor') && typeof e.callback !== 'function') {
      fail(`${where} (${e.kind}) needs a callback function`);
    }
    const consume = (topic: string, kind: string) => {
      if (typeof topic !== 'string' || !isLegalTopicName(topic)) fail(`${where} (${kind}) has an invalid topic name '${String(topic)}'`);
      const prev = consumed.get(topic);
      if (prev) fail(`topic '${topic}' is consumed twice (${prev} and ${kind})`);
      consumed.set(topic, kind);
    };
    switch (e.kind) {
      case 'input':
        if (e.topics.length === 0) fail(`${where} (inputs) names no topic`);
        for (const t of e.topics) consume(t, 'input');
        break;
      case 'join':
        consume(e.table, 'join');
        break;
      case 'lookup':
        consume(e.table, 'lookup');
        break;
      case 'output':
        if (!isLegalTopicName(e.topic)) fail(`${where} (output) has an invalid topic name '${e.topic}'`);
        if (outputs.has(e.topic)) fail(`output '${e.topic}' is declared twice`);
        outputs.add(e.topic);
        break;
      case 'persist':
        persists++;
        break;
      case 'loop':
        loops++;
        break;
      case 'visitor':
        if (!e.name) fail(`${where} (visitor) needs a name`);
        if (visitors.has(e.name)) fail(`visitor '${e.name}' is declared twice`);
        visitors.add(e.name);
        break;
      default:
        fail(`${where} has unknown kind '${(e as { kind: string }).kind}'`);
    }
  });
  if (persists > 1) fail(`it has ${persists} persist edges; at most one is allowed`);
  if (loops > 1) fail(`it has ${loops} loop edges; at most one is allowed`);
}

/**
 * Defines a processor group, from an array of edges (Goka's DefineGroup), from chained methods,
 * or both: `defineGroup('g', [persist(c), output('o', c)]).input('in', c, (ctx, v) => ...)`.
 * Callbacks given to the chained methods are typed with the edges declared before them.
 * Each edge is checked as it is added; the whole graph when a processor takes it (validate()).
 */
export function defineGroup(group: string): GroupGraph<EmptySpec>;
export function defineGroup<const Edges extends readonly Edge[]>(group: string, edges: Edges): GroupGraph<Flat<SpecOf<Edges>>>;
export function defineGroup(group: string, edges: readonly Edge[] = []): GroupGraph<any> {
  if (typeof group !== 'string' || !isLegalTopicName(group)) {
    throw new InvalidGraphError(String(group), 'the group name must be 1-249 characters of [a-zA-Z0-9._-]');
  }
  if (!Array.isArray(edges)) throw new InvalidGraphError(group, 'edges must be an array');
  const frozen = Object.freeze([...edges]);
  checkEdges(group, frozen);
  return new GroupGraph(group, frozen);
}
