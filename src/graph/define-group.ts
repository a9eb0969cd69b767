import { isCodec, type Codec } from '../codec/codec.js';
import { InvalidGraphError } from '../errors.js';
import type { Context } from './context.js';
import type { TableUpdater, UpdateCallback } from '../table/update.js';
import { isLegalTopicName, loopTopic, tableTopic, type NamingOptions } from './naming.js';

export type Callback<T, V = any> = (ctx: Context<V>, value: T) => void | Promise<void>;

export interface InputEdge { readonly kind: 'input'; readonly topics: readonly string[]; readonly codec: Codec<any>; readonly callback: Callback<any> }
export interface OutputEdge { readonly kind: 'output'; readonly topic: string; readonly codec: Codec<any> }
/** What a table edge stores for a changelog record it restores or follows (Goka's update callback). */
export interface TableEdgeOptions<T> { onUpdate?: UpdateCallback<T> }

export interface PersistEdge { readonly kind: 'persist'; readonly codec: Codec<any>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface LoopEdge { readonly kind: 'loop'; readonly codec: Codec<any>; readonly callback: Callback<any> }
export interface JoinEdge { readonly kind: 'join'; readonly table: string; readonly codec: Codec<any>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface LookupEdge { readonly kind: 'lookup'; readonly table: string; readonly codec: Codec<any>; readonly onUpdate?: UpdateCallback<any> | undefined }
export interface VisitorEdge { readonly kind: 'visitor'; readonly name: string; readonly callback: Callback<any> }

export type Edge = InputEdge | OutputEdge | PersistEdge | LoopEdge | JoinEdge | LookupEdge | VisitorEdge;

export function input<T>(topic: string, codec: Codec<T>, callback: Callback<T>): InputEdge {
  return { kind: 'input', topics: [topic], codec, callback };
}
export function inputs<T>(topics: string[], codec: Codec<T>, callback: Callback<T>): InputEdge {
  return { kind: 'input', topics: [...topics], codec, callback };
}
export function output<T>(topic: string, codec: Codec<T>): OutputEdge {
  return { kind: 'output', topic, codec };
}
export function persist<T>(codec: Codec<T>, options: TableEdgeOptions<T> = {}): PersistEdge {
  return { kind: 'persist', codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function loop<T>(codec: Codec<T>, callback: Callback<T>): LoopEdge {
  return { kind: 'loop', codec, callback };
}
export function join<T>(table: string, codec: Codec<T>, options: TableEdgeOptions<T> = {}): JoinEdge {
  return { kind: 'join', table, codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function lookup<T>(table: string, codec: Codec<T>, options: TableEdgeOptions<T> = {}): LookupEdge {
  return { kind: 'lookup', table, codec, onUpdate: options.onUpdate as UpdateCallback<unknown> | undefined };
}
export function visitor(name: string, callback: Callback<unknown>): VisitorEdge {
  return { kind: 'visitor', name, callback };
}

/** The definition of a processor group; see defineGroup. */
export class GroupGraph {
  readonly group: string;
  readonly edges: readonly Edge[];

  constructor(group: string, edges: readonly Edge[]) {
    this.group = group;
    this.edges = edges;
  }

  get inputs(): InputEdge[] { return this.edges.filter((e): e is InputEdge => e.kind === 'input'); }
  get outputs(): OutputEdge[] { return this.edges.filter((e): e is OutputEdge => e.kind === 'output'); }
  get persist(): PersistEdge | undefined { return this.edges.find((e): e is PersistEdge => e.kind === 'persist'); }
  /** The codec and update callback of a table this group restores (`own`: its group table's topic), if it has a callback. */
  updateFor(table: string, own: string): TableUpdater | undefined {
    const e = table === own ? this.persist : this.edges.find((x): x is JoinEdge | LookupEdge => (x.kind === 'join' || x.kind === 'lookup') && x.table === table);
    return e?.onUpdate ? { codec: e.codec, onUpdate: e.onUpdate } : undefined;
  }
  get loop(): LoopEdge | undefined { return this.edges.find((e): e is LoopEdge => e.kind === 'loop'); }
  get joins(): JoinEdge[] { return this.edges.filter((e): e is JoinEdge => e.kind === 'join'); }
  get lookups(): LookupEdge[] { return this.edges.filter((e): e is LookupEdge => e.kind === 'lookup'); }
  get visitors(): VisitorEdge[] { return this.edges.filter((e): e is VisitorEdge => e.kind === 'visitor'); }

  /** Every input stream topic, in declaration order. */
  inputTopics(): string[] { return this.inputs.flatMap((e) => e.topics); }

  /** Checks the rules that depend on naming options (own table/loop topic names). */
  validateNaming(naming: NamingOptions = {}): void {
    const table = tableTopic(this.group, naming);
    const loopT = loopTopic(this.group, naming);
    for (const e of this.edges) {
      const named = e.kind === 'input' ? e.topics : e.kind === 'output' ? [e.topic] : e.kind === 'join' || e.kind === 'lookup' ? [e.table] : [];
      for (const t of named) {
        if (t === table) throw new InvalidGraphError(this.group, `${e.kind} edge names the group's own table '${t}' (use ctx.value/setValue)`);
        if (t === loopT) throw new InvalidGraphError(this.group, `${e.kind} edge names the group's own loop topic '${t}' (use loop() and ctx.loopback)`);
      }
    }
  }
}

export function isGroupGraph(v: unknown): v is GroupGraph {
  return v instanceof GroupGraph ||
    (typeof v === 'object' && v !== null && typeof (v as GroupGraph).group === 'string' && Array.isArray((v as GroupGraph).edges) &&
      typeof (v as GroupGraph).inputTopics === 'function');
}

/**
 * Defines a processor group. Validates the graph at once: at least one input, at most one
 * persist and one loop, no topic consumed twice, visitors only with persist, no edge naming
 * the group's own table or loop topic.
 */
export function defineGroup(group: string, edges: Edge[]): GroupGraph {
  if (typeof group !== 'string' || !isLegalTopicName(group)) {
    throw new InvalidGraphError(String(group), 'the group name must be 1-249 characters of [a-zA-Z0-9._-]');
  }
  if (!Array.isArray(edges)) throw new InvalidGraphError(group, 'edges must be an array');
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
  if (![...consumed.values()].includes('input')) fail('it needs at least one input stream');
  if (persists > 1) fail(`it has ${persists} persist edges; at most one is allowed`);
  if (loops > 1) fail(`it has ${loops} loop edges; at most one is allowed`);
  if (visitors.size > 0 && persists === 0) fail('visitors need a group table: add persist()');
  const graph = new GroupGraph(group, Object.freeze([...edges]));
  graph.validateNaming();
  return graph;
}
