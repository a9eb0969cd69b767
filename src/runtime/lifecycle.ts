import { StateError } from '../errors.js';

/**
 * A lifecycle as an explicit state machine: the transition table is the single place that says
 * which state may follow which; `waitFor` lets callers (and tests) await a state, never sleep.
 */
export class Lifecycle<S extends string> {
  #state: S;
  readonly #name: string;
  readonly #allowed: Readonly<Record<S, readonly S[]>>;
  #waiters: { states: readonly S[]; resolve: (s: S) => void }[] = [];
  #listeners: ((to: S, from: S) => void)[] = [];

  constructor(name: string, initial: S, allowed: Readonly<Record<S, readonly S[]>>) {
    this.#name = name;
    this.#state = initial;
    this.#allowed = allowed;
  }

  get state(): S {
    return this.#state;
  }

  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }

  can(to: S): boolean {
    return this.#allowed[this.#state].includes(to);
  }

  to(next: S): void {
    if (!this.can(next)) throw new StateError(`${this.#name}: cannot go from '${this.#state}' to '${next}'`);
    const from = this.#state;
    this.#state = next;
    for (const l of this.#listeners) l(next, from);
    const ready = this.#waiters.filter((w) => w.states.includes(next));
    this.#waiters = this.#waiters.filter((w) => !w.states.includes(next));
    for (const w of ready) w.resolve(next);
  }

  onChange(listener: (to: S, from: S) => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves when the machine is in one of `states` (at once if it already is). */
  waitFor(...states: S[]): Promise<S> {
    if (states.includes(this.#state)) return Promise.resolve(this.#state);
    return new Promise((resolve) => this.#waiters.push({ states, resolve }));
  }
}

export type ActorState = 'opening' | 'recovering' | 'running' | 'stopping' | 'stopped' | 'closed' | 'failed';
export const ACTOR_TRANSITIONS: Record<ActorState, readonly ActorState[]> = {
  opening: ['recovering', 'failed', 'stopping'],
  recovering: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: ['closed', 'failed'],
  failed: ['closed'],
  closed: [],
};

export type ProcessorState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
export const PROCESSOR_TRANSITIONS: Record<ProcessorState, readonly ProcessorState[]> = {
  idle: ['starting'],
  starting: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/**
 * A consumer-group member: `restarting` between a crashed client and the fresh one that
 * replaces it; `failed` once membership is lost for good (stop() still runs after it).
 */
export type MemberState = 'idle' | 'joining' | 'joined' | 'restarting' | 'stopping' | 'stopped' | 'failed';
export const MEMBER_TRANSITIONS: Record<MemberState, readonly MemberState[]> = {
  idle: ['joining', 'stopping'],
  joining: ['joined', 'restarting', 'stopping', 'failed'],
  joined: ['restarting', 'stopping', 'failed'],
  restarting: ['joining', 'stopping', 'failed'],
  failed: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

/**
 * A view (and each of its partitions). 'connecting' is a partition state and what `view.state`
 * reports while Kafka does not answer; the view itself moves on this table.
 */
export type ViewState = 'idle' | 'initializing' | 'connecting' | 'catching-up' | 'running' | 'stopped' | 'failed';
export const VIEW_TRANSITIONS: Record<ViewState, readonly ViewState[]> = {
  idle: ['initializing', 'stopped'],
  initializing: ['catching-up', 'stopped', 'failed'],
  connecting: [],
  'catching-up': ['running', 'stopped', 'failed'],
  running: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** The supervisor's handle of one partition actor. */
export type HandleState = 'waiting' | 'opening' | 'recovering' | 'running' | 'stopping' | 'closed' | 'failed';
export const HANDLE_TRANSITIONS: Record<HandleState, readonly HandleState[]> = {
  waiting: ['opening', 'stopping', 'failed', 'closed'],
  opening: ['recovering', 'stopping', 'failed'],
  recovering: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['closed', 'failed'],
  failed: ['closed'],
  closed: [],
};
