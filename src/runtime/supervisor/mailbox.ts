import type { MessagePort } from 'node:worker_threads';
import type { ActorToSupervisor } from '../protocol.js';

type Kind = ActorToSupervisor['kind'];
type Of<K extends Kind> = Extract<ActorToSupervisor, { kind: K }>;

/**
 * Awaitable replies from an actor port. Messages nobody waits for yet are kept until asked
 * for; `kill` rejects every present and future wait (the actor's thread died).
 */
export class Mailbox {
  #kept = new Map<Kind, ActorToSupervisor[]>();
  #waiting = new Map<Kind, { resolve: (m: ActorToSupervisor) => void; reject: (e: Error) => void }[]>();
  #dead: Error | undefined;

  constructor(port: MessagePort, kinds: readonly Kind[], other: (m: ActorToSupervisor) => void) {
    const mine = new Set<Kind>(kinds);
    port.on('message', (m: ActorToSupervisor) => {
      if (!mine.has(m.kind)) return other(m);
      const w = this.#waiting.get(m.kind)?.shift();
      if (w) w.resolve(m);
      else {
        let list = this.#kept.get(m.kind);
        if (!list) this.#kept.set(m.kind, (list = []));
        list.push(m);
      }
    });
  }

  next<K extends Kind>(kind: K): Promise<Of<K>> {
    const kept = this.#kept.get(kind)?.shift();
    if (kept) return Promise.resolve(kept as Of<K>);
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      let list = this.#waiting.get(kind);
      if (!list) this.#waiting.set(kind, (list = []));
      list.push({ resolve: resolve as (m: ActorToSupervisor) => void, reject });
    });
  }

  kill(err: Error): void {
    this.#dead = err;
    for (const list of this.#waiting.values()) for (const w of list) w.reject(err);
    this.#waiting.clear();
  }
}
