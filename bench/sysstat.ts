// CPU accounting from /proc (Linux): the machine, this process's threads, and other processes
// (the broker JVM). Used to wait for an idle machine, and to say where the CPU went in a run.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** Busy and total jiffies of the whole machine (all cores). */
export interface MachineSample {
  busy: number;
  total: number;
}

export function machine(): MachineSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU seconds (user+system) of a whole process, all threads, from /proc/<pid>/stat. */
export function processCpu(pid: number | 'self'): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_S;
  } catch {
    return 0; // the process is gone
  }
}

/** On-CPU seconds of every thread of this process (ns precision, from schedstat). */
export function threads(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      out.set(Number(t), ns / 1e9);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/** On-CPU seconds of the calling (main) thread. */
export function mainThreadCpu(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
}

/** Child processes of this process (the broker JVM when the bench started it). */
export function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** A snapshot of everything we account for. */
export interface Snapshot {
  at: number; // performance.now() ms
  machine: MachineSample;
  self: number; // whole process CPU s
  threads: Map<number, number>;
  broker: number; // CPU s of the broker processes we know of
}

export function snapshot(brokerPids: number[]): Snapshot {
  return {
    at: performance.now(),
    machine: machine(),
    self: processCpu('self'),
    threads: threads(),
    broker: brokerPids.reduce((s, p) => s + processCpu(p), 0),
  };
}

/** Where the CPU went between two snapshots, in cores (CPU seconds per wall second). */
export interface Usage {
  wallS: number;
  machineCores: number; // all processes, all cores
  mainCores: number; // this process's main thread
  newThreadCores: number; // threads that appeared since `base` (the actor worker threads)
  helperCores: number; // other threads of this process that existed before (V8 GC/compiler, libuv pool)
  selfCores: number; // whole process
  brokerCores: number;
  othersCores: number; // everything else on the machine (neighbours)
  /** Top new threads by CPU, cores each. */
  newThreads: number[];
}

/** `base`: the threads that existed before the processor started; any other thread is an actor thread. */
export function usage(a: Snapshot, b: Snapshot, base: Set<number> = new Set(a.threads.keys())): Usage {
  const wallS = (b.at - a.at) / 1000;
  const dm = b.machine;
  const machineS = (dm.busy - a.machine.busy) * TICK_S;
  let main = 0;
  let fresh = 0;
  let helpers = 0;
  const newThreads: number[] = [];
  for (const [tid, s] of b.threads) {
    const d = s - (a.threads.get(tid) ?? 0);
    if (tid === process.pid) main = d;
    else if (!base.has(tid)) {
      fresh += d;
      newThreads.push(d / wallS);
    } else helpers += d;
  }
  const selfS = b.self - a.self;
  const brokerS = b.broker - a.broker;
  newThreads.sort((x, y) => y - x);
  return {
    wallS,
    machineCores: machineS / wallS,
    mainCores: main / wallS,
    newThreadCores: fresh / wallS,
    helperCores: helpers / wallS,
    selfCores: selfS / wallS,
    brokerCores: brokerS / wallS,
    othersCores: Math.max(0, machineS - selfS - brokerS) / wallS,
    newThreads: newThreads.slice(0, 4),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the rest of the machine (everything but this process and the broker) uses less
 * than `maxOthers` cores over `windowMs`, twice in a row; gives up after `capMs`.
 * Returns the last measured load of the others, and whether the machine got idle.
 */
export async function waitIdle(brokerPids: number[], opts: { maxOthers: number; windowMs: number; capMs: number }): Promise<{ idle: boolean; others: number; waitedMs: number }> {
  const t0 = performance.now();
  let calm = 0;
  let others = 0;
  for (;;) {
    const a = snapshot(brokerPids);
    await sleep(opts.windowMs);
    const u = usage(a, snapshot(brokerPids));
    // The broker's own idle housekeeping counts as "others" only above a small allowance.
    others = u.othersCores + Math.max(0, u.brokerCores - 0.1);
    calm = others < opts.maxOthers ? calm + 1 : 0;
    const waitedMs = performance.now() - t0;
    if (calm >= 2) return { idle: true, others, waitedMs };
    if (waitedMs > opts.capMs) return { idle: false, others, waitedMs };
  }
}
