// Small helpers every bench uses: a kafkajs admin for set-up, and medians.
import kafkajs from 'kafkajs';

export type Admin = ReturnType<InstanceType<typeof kafkajs.Kafka>['admin']>;

/** Runs `fn` with a connected admin client, disconnecting it afterwards. */
export async function withAdmin<T>(brokers: string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new kafkajs.Kafka({ clientId: 'partita-bench-admin', brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A `--workers` entry: N threads, or N+main (N threads and `mainThreadActors`). */
export interface WorkersSpec { workers: number; mainThreadActors: boolean; label: string }
export function parseWorkers(spec: string): WorkersSpec {
  const m = /^(\d+)(\+main)?$/.exec(spec.trim());
  if (!m) throw new Error(`--workers: '${spec}' is not N or N+main`);
  return { workers: Number(m[1]), mainThreadActors: m[2] !== undefined, label: `${m[1]}${m[2] ? ' + main thread' : ''}` };
}
