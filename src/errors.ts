// Errors are classes with a stable `code`, structured props and the original as `cause`.
// They cross thread boundaries as plain data (postMessage drops class and custom fields),
// so serializeError/deserializeError rebuild the right class from `code`.

export const ErrorCodes = {
  INVALID_ARGUMENT: 'PARTITA_INVALID_ARGUMENT',
  INVALID_GRAPH: 'PARTITA_INVALID_GRAPH',
  CODEC: 'PARTITA_CODEC',
  TOPIC: 'PARTITA_TOPIC',
  NOT_COPARTITIONED: 'PARTITA_NOT_COPARTITIONED',
  EMITTER_CLOSED: 'PARTITA_EMITTER_CLOSED',
  PRODUCE: 'PARTITA_PRODUCE',
  PROCESSING: 'PARTITA_PROCESSING',
  WORKER_CRASHED: 'PARTITA_WORKER_CRASHED',
  STORAGE: 'PARTITA_STORAGE',
  STATE: 'PARTITA_STATE',
  PROTOCOL: 'PARTITA_PROTOCOL',
  NOT_FOUND: 'PARTITA_NOT_FOUND',
  STOPPED: 'PARTITA_STOPPED',
  BROKER_UNAVAILABLE: 'PARTITA_BROKER_UNAVAILABLE',
  NOT_SUPPORTED: 'PARTITA_NOT_SUPPORTED',
  VISIT_ABORTED: 'PARTITA_VISIT_ABORTED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PartitaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends PartitaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.INVALID_ARGUMENT, message, options);
  }
}

export class InvalidGraphError extends PartitaError {
  readonly group: string;
  constructor(group: string, message: string) {
    super(ErrorCodes.INVALID_GRAPH, `invalid group graph '${group}': ${message}`);
    this.group = group;
  }
}

export class CodecError extends PartitaError {
  readonly codec: string;
  readonly operation: 'encode' | 'decode';
  constructor(codec: string, operation: 'encode' | 'decode', reason: string, options?: { cause?: unknown }) {
    super(ErrorCodes.CODEC, `codec ${codec} cannot ${operation}: ${reason}`, options);
    this.codec = codec;
    this.operation = operation;
  }
}

export class TopicError extends PartitaError {
  readonly topic: string;
  constructor(topic: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.TOPIC, message, options);
    this.topic = topic;
  }
}

export class NotCopartitionedError extends PartitaError {
  readonly partitions: Record<string, number>;
  constructor(partitions: Record<string, number>, context: string) {
    const list = Object.entries(partitions).map(([t, n]) => `${t}=${n}`).join(', ');
    super(ErrorCodes.NOT_COPARTITIONED, `${context}: topics are not co-partitioned (partition counts: ${list})`);
    this.partitions = partitions;
  }
}

export class EmitterClosedError extends PartitaError {
  constructor(topic: string) {
    super(ErrorCodes.EMITTER_CLOSED, `emitter for topic '${topic}' is closed`);
  }
}

export class ProduceError extends PartitaError {
  readonly topic: string;
  constructor(topic: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.PRODUCE, message, options);
    this.topic = topic;
  }
}

/** Where a record was when processing failed. */
export interface RecordPosition {
  group: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
}

export class ProcessingError extends PartitaError implements RecordPosition {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  constructor(pos: RecordPosition, reason: string, options?: { cause?: unknown }) {
    super(
      ErrorCodes.PROCESSING,
      `group '${pos.group}' failed on ${pos.topic}[${pos.partition}]@${pos.offset} key '${pos.key}': ${reason}`,
      options,
    );
    this.group = pos.group;
    this.topic = pos.topic;
    this.partition = pos.partition;
    this.offset = pos.offset;
    this.key = pos.key;
  }
}

export class WorkerCrashedError extends PartitaError {
  readonly group: string;
  readonly worker: number;
  readonly partitions: number[];
  constructor(group: string, worker: number, partitions: number[], reason: string, options?: { cause?: unknown }) {
    super(
      ErrorCodes.WORKER_CRASHED,
      `group '${group}': worker thread ${worker} (partitions ${partitions.join(',') || 'none'}) died: ${reason}`,
      options,
    );
    this.group = group;
    this.worker = worker;
    this.partitions = partitions;
  }
}

export class StorageError extends PartitaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.STORAGE, message, options);
  }
}

export class StateError extends PartitaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.STATE, message, options);
  }
}

/**
 * The brokers could not be reached: at start within `connectTimeoutMs`, or while running for
 * longer than `brokerOutageMs`. The client's last error is the `cause`.
 */
export class BrokerUnavailableError extends PartitaError {
  readonly brokers: string[];
  readonly operation: string;
  readonly waitedMs: number;
  /** True when no connection ever succeeded (wrong address, broker not started). */
  readonly atStart: boolean;
  constructor(brokers: string[], operation: string, waitedMs: number, atStart: boolean, options?: { cause?: unknown }) {
    const why = atStart ? 'cannot reach the Kafka brokers' : 'lost the Kafka brokers';
    let root = options?.cause;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    const cause = root instanceof Error ? `; last error: ${root.message}` : '';
    super(ErrorCodes.BROKER_UNAVAILABLE, `${why} ${brokers.join(', ')} (${operation}; tried for ${(waitedMs / 1000).toFixed(1)} s)${cause}`, options);
    this.brokers = brokers;
    this.operation = operation;
    this.waitedMs = waitedMs;
    this.atStart = atStart;
  }
}

/** visitAll ended before every key was visited (Goka's ErrVisitAborted): a rebalance, stop() or the signal. */
export class VisitAbortedError extends PartitaError {
  readonly visitor: string;
  /** Keys visited (and their effects acked) before the abort. */
  readonly visited: number;
  readonly reason: 'rebalance' | 'stop' | 'signal';
  constructor(visitor: string, visited: number, reason: 'rebalance' | 'stop' | 'signal') {
    super(ErrorCodes.VISIT_ABORTED, `visitAll('${visitor}') aborted by ${reason === 'signal' ? 'its signal' : reason === 'stop' ? 'stop()' : 'a rebalance'} after ${visited} keys`);
    this.visitor = visitor;
    this.visited = visited;
    this.reason = reason;
  }
}

/** A feature that exists in the API but not in this version. */
export class NotSupportedError extends PartitaError {
  constructor(message: string) {
    super(ErrorCodes.NOT_SUPPORTED, message);
  }
}

export class NotFoundError extends PartitaError {
  constructor(message: string) {
    super(ErrorCodes.NOT_FOUND, message);
  }
}

/** A message on a supervisor/actor port that breaks the protocol (a bug or a stale build). */
export class ProtocolError extends PartitaError {
  constructor(message: string) {
    super(ErrorCodes.PROTOCOL, message);
  }
}

export class StoppedError extends PartitaError {
  constructor(message: string) {
    super(ErrorCodes.STOPPED, message);
  }
}

// ---- crossing a thread boundary ---------------------------------------------------------

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  props: Record<string, unknown>;
  cause?: SerializedError;
}

const OWN_FIELDS = new Set(['name', 'message', 'stack', 'cause', 'code']);

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { name: 'NonError', message: safeString(err), props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (OWN_FIELDS.has(k)) continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v) || Array.isArray(v) || isPlainRecord(v)) {
      props[k] = v;
    }
  }
  const out: SerializedError = { name: err.name, message: err.message, props };
  if (err.stack !== undefined) out.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (err.cause !== undefined && depth < 8) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** Rebuilds an Error from its serialized form; partita codes come back as their own class. */
export function deserializeError(s: SerializedError): Error {
  const cause = s.cause ? deserializeError(s.cause) : undefined;
  const err: Error = cause === undefined ? new Error(s.message) : new Error(s.message, { cause });
  const proto = s.code ? PROTOTYPES[s.code] : undefined;
  if (proto) Object.setPrototypeOf(err, proto);
  Object.defineProperty(err, 'name', { value: s.name, enumerable: false, writable: true, configurable: true });
  if (s.code !== undefined) (err as { code?: string }).code = s.code;
  Object.assign(err, s.props);
  if (s.stack !== undefined) err.stack = s.stack;
  return err;
}

const PROTOTYPES: Record<string, object> = {
  [ErrorCodes.INVALID_ARGUMENT]: InvalidArgumentError.prototype,
  [ErrorCodes.INVALID_GRAPH]: InvalidGraphError.prototype,
  [ErrorCodes.CODEC]: CodecError.prototype,
  [ErrorCodes.TOPIC]: TopicError.prototype,
  [ErrorCodes.NOT_COPARTITIONED]: NotCopartitionedError.prototype,
  [ErrorCodes.EMITTER_CLOSED]: EmitterClosedError.prototype,
  [ErrorCodes.PRODUCE]: ProduceError.prototype,
  [ErrorCodes.PROCESSING]: ProcessingError.prototype,
  [ErrorCodes.WORKER_CRASHED]: WorkerCrashedError.prototype,
  [ErrorCodes.STORAGE]: StorageError.prototype,
  [ErrorCodes.STATE]: StateError.prototype,
  [ErrorCodes.NOT_FOUND]: NotFoundError.prototype,
  [ErrorCodes.PROTOCOL]: ProtocolError.prototype,
  [ErrorCodes.STOPPED]: StoppedError.prototype,
  [ErrorCodes.BROKER_UNAVAILABLE]: BrokerUnavailableError.prototype,
  [ErrorCodes.NOT_SUPPORTED]: NotSupportedError.prototype,
  [ErrorCodes.VISIT_ABORTED]: VisitAbortedError.prototype,
};

function isPlainRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
