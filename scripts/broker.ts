/**
 * "One real broker per run" harness.
 *
 * findOrStartBroker() picks, in this order:
 *   (a) KAFKA_BROKERS from the environment (comma-separated) – nothing is started, stop() is a no-op;
 *   (b) a Docker engine, if one answers – apache/kafka:<version> through testcontainers (loaded lazily);
 *   (c) the Maven jars in kafka/target/kafka-libs – a single-node KRaft broker+controller JVM
 *       (fetched with mvn on first use), formatted into a fresh temp dir.
 *
 * startRestartableBroker() always takes route (c) and returns a broker of its own that fault tests can take down and
 * bring back up on the same ports and data dir, without touching the shared one.
 *
 * Orphan protection for the jars route (the JVM must never outlive the Node process that started it):
 *   - normal exit / uncaught crash: a process 'exit' hook SIGKILLs every live broker and removes its dir;
 *   - SIGINT / SIGTERM with no other handler installed: the broker is killed and the process exits 128+n
 *     (if the application installed its own handler, it is responsible for calling stop());
 *   - SIGKILL of the Node process (cannot be handled): on Linux the JVM is started through
 *     `setpriv --pdeathsig KILL`, so the kernel kills it when its parent dies. As a second line of defence
 *     every broker dir is named partita-kafka-<parentPid>-<random> and records the parent's identity and
 *     the JVM pid; the next findOrStartBroker() on the machine reaps dirs (and their JVMs) whose parent is gone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BrokerHandle {
  brokers: string[];
  source: 'env' | 'docker' | 'jars';
  stop(): Promise<void>;
  /** Start-up timings in ms (absent for the env route). */
  timings?: { totalMs: number; formatMs?: number; startMs?: number };
}

export interface BrokerOptions {
  log?: (line: string) => void;
  /** 'test' (default): small heap, C1 only, SerialGC. 'bench': 1 GiB heap, G1, full JIT (what kafka-server-start.sh uses). */
  profile?: 'test' | 'bench';
}

// ---------------------------------------------------------------------------------------------------------------------
// repo layout

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'partita') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`broker harness: no package.json named "partita" above ${start}`);
    dir = parent;
  }
}

/** Directory holding partita's package.json (works from scripts/*.ts and dist/scripts/*.js alike). */
export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

export const kafkaLibsDir = join(repoRoot, 'kafka', 'target', 'kafka-libs');
const pomFile = join(repoRoot, 'kafka', 'pom.xml');

const DOCKER_IMAGE_VERSION = '4.1.1';
const CLUSTER_ID = '4L6g3nShT-eMCtK--X86sw'; // fixed id is fine: every broker gets a fresh directory
const READY_LINE = 'Kafka Server started';
const READY_DEADLINE_MS = 90_000;
const STOP_GRACE_MS = 10_000;
const TAIL_BYTES = 64 * 1024;
const DIR_PREFIX = 'partita-kafka-';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const noop = () => {};

// ---------------------------------------------------------------------------------------------------------------------
// entry point

export async function findOrStartBroker(opts: BrokerOptions = {}): Promise<BrokerHandle> {
  const log = opts.log ?? noop;

  const fromEnv = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (fromEnv.length > 0) {
    log(`kafka: using KAFKA_BROKERS=${fromEnv.join(',')} (env)`);
    return { brokers: fromEnv, source: 'env', stop: async () => {} };
  }

  if (await dockerAnswers()) {
    try {
      return await startDockerBroker(opts);
    } catch (err) {
      log(`kafka: docker route failed, falling back to jars: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  return startJarBroker(opts);
}

// ---------------------------------------------------------------------------------------------------------------------
// (b) docker

/** Cheap check: a socket/host is configured AND the engine answers GET /_ping within 1.5 s. */
async function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  let target: { socketPath: string } | { host: string; port: number; tls: boolean };
  if (host) {
    if (host.startsWith('unix://')) target = { socketPath: host.slice('unix://'.length) };
    else if (host.startsWith('tcp://') || host.startsWith('http://') || host.startsWith('https://')) {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      const tls = u.protocol === 'https:' || process.env.DOCKER_TLS_VERIFY === '1';
      if (tls) return true; // TLS needs client certs; let testcontainers decide (and fall back if it fails)
      target = { host: u.hostname, port: Number(u.port || 2375), tls };
    } else return true; // ssh:// and friends: let testcontainers try
  } else if (existsSync('/var/run/docker.sock')) {
    target = { socketPath: '/var/run/docker.sock' };
  } else {
    return false;
  }
  return new Promise<boolean>((res) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: 1500 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => res(false));
    req.end();
  });
}

async function startDockerBroker(opts: BrokerOptions): Promise<BrokerHandle> {
  const log = opts.log ?? noop;
  const t0 = performance.now();
  const { GenericContainer, Wait } = await import('testcontainers');
  // Container port == host port, so 127.0.0.1:<port> is valid both inside the container (for the broker talking
  // to itself) and on the host; the advertised listener is then right from the first start.
  const port = await freePort();
  const container = await new GenericContainer(`apache/kafka:${DOCKER_IMAGE_VERSION}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      CLUSTER_ID,
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
      KAFKA_MIN_INSYNC_REPLICAS: '1',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE: '2097152',
      KAFKA_HEAP_OPTS: opts.profile === 'bench' ? '-Xms1g -Xmx1g' : '-Xms256m -Xmx512m',
    })
    .withWaitStrategy(Wait.forLogMessage(new RegExp(READY_LINE)))
    .withStartupTimeout(180_000)
    .start();
  const addr = `127.0.0.1:${container.getMappedPort(port)}`;
  await waitForPort('127.0.0.1', container.getMappedPort(port), Date.now() + 30_000);
  const totalMs = performance.now() - t0;
  log(`kafka ${DOCKER_IMAGE_VERSION} (docker) ready on ${addr} in ${secs(totalMs)}`);
  let stopping: Promise<void> | undefined;
  return {
    brokers: [addr],
    source: 'docker',
    timings: { totalMs },
    stop: () => (stopping ??= container.stop({ timeout: STOP_GRACE_MS }).then(noop)),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// (c) jars

interface LiveBroker {
  child: ChildProcess;
  dir: string;
}
const live = new Set<LiveBroker>();
/** Broker dirs created by this process and not yet removed (covers the window before a JVM is running). */
const ownDirs = new Set<string>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const b of live) {
    try {
      b.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    ownDirs.add(b.dir);
  }
  live.clear();
  // The JVM may still hold files open for a moment after SIGKILL; on Linux unlinking them is fine.
  for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
  ownDirs.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // If the application handles the signal itself it owns the shutdown (and calls stop()); we only step in
      // when we are the sole listener, where Node would otherwise have died without running 'exit' hooks.
      if (process.listenerCount(sig) > 1) return;
      killAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    };
    process.on(sig, onSignal);
  }
}

/** Identity of a process that survives pid reuse: "<pid>:<start time in clock ticks>" on Linux, "<pid>" elsewhere. */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime); fields after the ")" that closes comm are space-separated, starting at field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid}:${fields[19]}`;
  } catch {
    if (process.platform === 'linux') return undefined; // no /proc entry: not running
    try {
      process.kill(pid, 0);
      return String(pid);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' ? String(pid) : undefined;
    }
  }
}

/** Remove broker dirs (and kill their JVMs) left behind by Node processes that no longer exist. */
function reapStale(log: (l: string) => void): void {
  const root = tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^partita-kafka-(\d+)-/.exec(name);
    if (!m) continue;
    const dir = join(root, name);
    const parentPid = Number(m[1]);
    if (parentPid === process.pid) continue;
    let owner: { parent?: string; java?: number } = {};
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as typeof owner;
    } catch {
      // dir being created right now, or written by a crashed process before owner.json: judge by the pid alone
    }
    const parentNow = processIdentity(parentPid);
    const parentAlive = parentNow !== undefined && (owner.parent === undefined || owner.parent === parentNow);
    if (parentAlive) continue;
    if (owner.java) {
      try {
        const cmd = readFileSync(`/proc/${owner.java}/cmdline`, 'utf8');
        if (cmd.includes(dir)) {
          process.kill(owner.java, 'SIGKILL');
          log(`kafka: killed orphaned broker JVM ${owner.java} (parent ${parentPid} is gone)`);
        }
      } catch {
        // not running (or not Linux): nothing to kill
      }
    }
    rmSync(dir, { recursive: true, force: true });
    log(`kafka: removed stale broker dir ${dir}`);
  }
}

function hasJars(): boolean {
  try {
    return readdirSync(kafkaLibsDir).some((f) => f.endsWith('.jar'));
  } catch {
    return false;
  }
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

function assertTool(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error) {
    throw new Error(
      `broker harness: ${what} not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}). ` +
        `Install Java 17+ and Maven 3.8+, set KAFKA_BROKERS to an existing broker, or run a Docker engine.`,
    );
  }
}

/** Make sure kafka/target/kafka-libs holds the broker jars (runs mvn once if not). */
export function ensureJars(log: (l: string) => void = noop): void {
  if (hasJars()) return;
  assertTool(javaBin(), ['-version'], '`java`');
  assertTool('mvn', ['-v'], '`mvn`');
  log(`kafka: fetching broker jars with mvn into ${kafkaLibsDir} (one time)…`);
  const r = spawnSync('mvn', ['-B', '-q', '-ntp', '-f', pomFile, 'dependency:copy-dependencies'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 || !hasJars()) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.slice(-TAIL_BYTES);
    throw new Error(
      `broker harness: mvn dependency:copy-dependencies failed (exit ${r.status ?? r.signal}); ` +
        `Maven Central must be reachable the first time.\n${out}`,
    );
  }
}

function kafkaVersionFromJars(): string {
  const jar = readdirSync(kafkaLibsDir).find((f) => /^kafka_2\.1\d-.+\.jar$/.test(f));
  return jar?.replace(/^kafka_2\.1\d-/, '').replace(/\.jar$/, '') ?? 'unknown';
}

/** Binds 127.0.0.1:<port> (0: any) for a moment; resolves the bound port, or undefined if it is taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((res) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => res(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as net.AddressInfo;
      srv.close(() => res(bound));
    });
  });
}

async function freePort(): Promise<number> {
  const port = await probePort(0);
  if (port === undefined) throw new Error('broker harness: no free 127.0.0.1 port');
  return port;
}

/** A free port below the kernel's ephemeral range. A restartable broker's ports sit unbound while it is down; inside
 *  that range the kernel may meanwhile hand one out as the source port of an outgoing connection (a client retrying
 *  127.0.0.1:<port> can even connect to itself), and the restart could not bind it. */
async function portBelowEphemeralRange(): Promise<number> {
  let low = 32768; // Linux default; macOS starts at 49152, so this is below it too
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the default
  }
  const min = 10_000;
  for (let i = 0; i < 50 && low - min >= 1000; i++) {
    const port = await probePort(min + Math.floor(Math.random() * (low - min)));
    if (port !== undefined) return port;
  }
  return freePort();
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('timeout', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(false));
  });
}

async function waitForPort(host: string, port: number, deadline: number): Promise<void> {
  while (!(await canConnect(host, port))) {
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function serverProperties(dir: string, port: number, ctrlPort: number): string {
  return `# generated by partita scripts/broker.ts
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${ctrlPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctrlPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${join(dir, 'data')}

num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=2097152
`;
}

const LOG4J2_PROPERTIES = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
`;

/** Keeps the last TAIL_BYTES of a child's combined output and notices the readiness line. */
class OutputTail {
  text = '';
  sawReady = false;
  private readonly waiters: Array<() => void> = [];
  attach(child: ChildProcess): void {
    const onData = (b: Buffer) => {
      this.text += b.toString('utf8');
      if (!this.sawReady && this.text.includes(READY_LINE)) {
        this.sawReady = true;
        for (const w of this.waiters.splice(0)) w();
      }
      if (this.text.length > TAIL_BYTES) this.text = this.text.slice(-TAIL_BYTES);
    };
    // Listeners stay attached for the broker's whole life: an undrained pipe would block Kafka's logging threads.
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }
  ready(): Promise<void> {
    return this.sawReady ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

/** On Linux, have the kernel SIGKILL the JVM if the Node process dies (even by SIGKILL).
 *  PARTITA_KAFKA_NO_PDEATHSIG=1 turns it off (only useful to exercise the stale-dir reaper). */
const pdeathsigPrefix: string[] =
  process.platform === 'linux' && existsSync('/usr/bin/setpriv') && !process.env.PARTITA_KAFKA_NO_PDEATHSIG
    ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']
    : [];

function runJava(args: string[], spawnOpts: { stdio: ['ignore', 'pipe', 'pipe'] }): ChildProcess {
  const [cmd, ...rest] = [...pdeathsigPrefix, javaBin(), ...args];
  // Own process group: a terminal Ctrl-C reaches the app (which stops the broker when it is
  // done flushing) instead of killing the broker under it. pdeathsig and the exit hooks still
  // end the JVM when this process dies.
  return spawn(cmd!, rest, { ...spawnOpts, detached: true });
}

function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((res) => child.once('close', (code, signal) => res({ code, signal })));
}

type Signal = 'SIGTERM' | 'SIGKILL';

/** One jars broker. Its dir, ports and JVM arguments are fixed at creation, so launch() can run again on the same
 *  server.properties and data dir after halt(). */
class JarBroker {
  readonly addr: string;
  readonly dir: string;
  readonly #port: number;
  readonly #props: string;
  readonly #jvmArgs: string[];
  readonly #heap: string[];
  readonly #owner: { parent: string | undefined; java?: number };
  #entry: LiveBroker | undefined;
  #ready = false;

  static async create(opts: BrokerOptions, pickPort: () => Promise<number>): Promise<JarBroker> {
    const log = opts.log ?? noop;
    reapStale(log);
    ensureJars(log);
    installExitHooks();
    const port = await pickPort();
    let ctrlPort = await pickPort();
    while (ctrlPort === port) ctrlPort = await pickPort();
    return new JarBroker(opts, port, ctrlPort);
  }

  private constructor(opts: BrokerOptions, port: number, ctrlPort: number) {
    const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    ownDirs.add(dir);
    this.dir = dir;
    this.#port = port;
    this.addr = `127.0.0.1:${port}`;
    this.#owner = { parent: processIdentity(process.pid) };
    this.#writeOwner();
    mkdirSync(join(dir, 'logs'));
    this.#props = join(dir, 'server.properties');
    const log4j = join(dir, 'log4j2.properties');
    writeFileSync(this.#props, serverProperties(dir, port, ctrlPort));
    writeFileSync(log4j, LOG4J2_PROPERTIES);
    this.#jvmArgs = [
      '-XX:-UsePerfData',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4j}`,
      `-Dkafka.logs.dir=${join(dir, 'logs')}`,
      '-cp',
      join(kafkaLibsDir, '*'), // expanded by the JVM itself
    ];
    this.#heap =
      opts.profile === 'bench'
        ? ['-Xms1g', '-Xmx1g', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
            '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15']
        : ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
  }

  /** True while the JVM runs and has passed the readiness check. */
  get running(): boolean {
    const child = this.#entry?.child;
    return this.#ready && child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  #writeOwner(): void {
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify(this.#owner));
  }

  /** Formats the data dir (once per broker). Resolves the time it took in ms. */
  async format(): Promise<number> {
    const t0 = performance.now();
    const fmt = runJava(
      ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...this.#jvmArgs,
        'kafka.tools.StorageTool', 'format', '-t', CLUSTER_ID, '-c', this.#props],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const tail = new OutputTail();
    tail.attach(fmt);
    const fmtEntry: LiveBroker = { child: fmt, dir: this.dir };
    live.add(fmtEntry);
    const killer = setTimeout(() => fmt.kill('SIGKILL'), 60_000);
    let result: { code: number | null; signal: NodeJS.Signals | null };
    try {
      result = await new Promise((res, rej) => {
        fmt.once('error', rej); // spawn failure (ENOENT…): 'exit' never comes
        fmt.once('close', (code, signal) => res({ code, signal }));
      });
    } catch (e) {
      throw new Error(`broker harness: cannot run java: ${(e as Error).message}`);
    } finally {
      clearTimeout(killer);
      live.delete(fmtEntry);
    }
    const { code, signal } = result;
    if (code !== 0) {
      throw new Error(`broker harness: kafka.tools.StorageTool format failed (${code ?? signal})\n${tail.text}`);
    }
    return performance.now() - t0;
  }

  /** Starts the broker JVM and waits until it is ready. Resolves the time it took in ms; on failure the JVM is
   *  killed (the dir stays) and the error carries the broker's output tail. */
  async launch(): Promise<number> {
    await this.halt('SIGKILL'); // a JVM that died on its own since the last launch: forget it
    const t0 = performance.now();
    const child = runJava([...this.#heap, ...this.#jvmArgs, 'kafka.Kafka', this.#props], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#entry = { child, dir: this.dir };
    live.add(this.#entry);
    const tail = new OutputTail();
    tail.attach(child);
    if (child.pid !== undefined) {
      this.#owner.java = child.pid; // with setpriv the pid stays the same: setpriv execs java
      this.#writeOwner();
    }
    try {
      const deadline = Date.now() + READY_DEADLINE_MS;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        (async () => {
          await tail.ready();
          await waitForPort('127.0.0.1', this.#port, deadline);
        })(),
        new Promise<never>((_, j) => {
          child.once('error', (e) => j(new Error(`cannot run java: ${e.message}`)));
          child.once('exit', (code, signal) => j(new Error(`kafka.Kafka exited during start-up (${code ?? signal})`)));
          timer = setTimeout(
            () => j(new Error(`kafka.Kafka not ready within ${READY_DEADLINE_MS / 1000} s`)),
            READY_DEADLINE_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      await this.halt('SIGKILL');
      throw new Error(`broker harness: ${(err as Error).message}\n--- broker output (tail) ---\n${tail.text}`);
    }
    this.#ready = true;
    return performance.now() - t0;
  }

  /** Stops the JVM (SIGTERM ends in SIGKILL after STOP_GRACE_MS) and waits for its exit; keeps the dir. */
  async halt(signal: Signal): Promise<void> {
    const entry = this.#entry;
    this.#ready = false;
    if (!entry) return;
    const { child } = entry;
    // No pid: spawn failed, so no 'close' may ever come.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const hard = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await waitExit(child);
      clearTimeout(hard);
    }
    live.delete(entry);
    this.#entry = undefined;
    delete this.#owner.java;
    this.#writeOwner();
  }

  /** Stops the JVM and removes the dir; final. */
  async destroy(signal: Signal): Promise<void> {
    await this.halt(signal);
    rmSync(this.dir, { recursive: true, force: true });
    ownDirs.delete(this.dir);
  }
}

/** Creates, formats and starts a jars broker; removes it again if any step fails. */
async function bootJarBroker(
  opts: BrokerOptions,
  pickPort: () => Promise<number>,
): Promise<{ broker: JarBroker; timings: { totalMs: number; formatMs: number; startMs: number } }> {
  const broker = await JarBroker.create(opts, pickPort);
  try {
    const formatMs = await broker.format();
    const startMs = await broker.launch();
    const totalMs = formatMs + startMs;
    (opts.log ?? noop)(
      `kafka ${kafkaVersionFromJars()} (jars) ready on ${broker.addr} in ${secs(totalMs)} ` +
        `(format ${secs(formatMs)}, start ${secs(startMs)}${opts.profile === 'bench' ? ', bench profile' : ''})`,
    );
    return { broker, timings: { totalMs, formatMs, startMs } };
  } catch (err) {
    await broker.destroy('SIGKILL');
    throw err;
  }
}

async function startJarBroker(opts: BrokerOptions): Promise<BrokerHandle> {
  const { broker, timings } = await bootJarBroker(opts, freePort);
  let stopping: Promise<void> | undefined;
  return { brokers: [broker.addr], source: 'jars', timings, stop: () => (stopping ??= broker.destroy('SIGTERM')) };
}

// ---------------------------------------------------------------------------------------------------------------------
// restartable jars broker (outage tests)

export interface RestartableBroker {
  readonly brokers: string[];
  /** True while the JVM runs and has passed the readiness check. */
  readonly isUp: boolean;
  /** Timings of the first start (format + start), in ms. */
  readonly timings: { totalMs: number; formatMs: number; startMs: number };
  /** Stops the JVM and waits for its exit; the dir and ports stay for up(). Default SIGKILL: a crash-like outage. */
  down(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Starts the JVM again on the same server.properties and data dir (no re-format); resolves when it is ready. */
  up(): Promise<void>;
  /** Kills the JVM and removes the dir; final. */
  stop(): Promise<void>;
}

/**
 * A private jars broker (never KAFKA_BROKERS or Docker) that can be taken down and brought back on the same address
 * and data. Its ports lie below the ephemeral range, so nothing else picks them up during an outage; the rebind
 * works although the killed JVM's connections leave TIME_WAIT entries on them, because Java listens with
 * SO_REUSEADDR on Linux.
 */
export async function startRestartableBroker(opts: BrokerOptions = {}): Promise<RestartableBroker> {
  const log = opts.log ?? noop;
  const { broker, timings } = await bootJarBroker(opts, portBelowEphemeralRange);
  let stopped = false;
  // One transition at a time, in call order: an up() issued while down() runs must not start a second JVM.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (op: () => Promise<void>): Promise<void> => {
    const run = queue.then(op);
    queue = run.catch(noop);
    return run;
  };
  return {
    brokers: [broker.addr],
    timings,
    get isUp() {
      return broker.running;
    },
    down: ({ signal = 'SIGKILL' } = {}) =>
      serial(async () => {
        if (stopped) return;
        const t0 = performance.now();
        await broker.halt(signal);
        log(`kafka on ${broker.addr} down (${signal}) in ${secs(performance.now() - t0)}`);
      }),
    up: () =>
      serial(async () => {
        if (stopped) throw new Error('broker harness: up() after stop()');
        if (broker.running) return;
        log(`kafka on ${broker.addr} up in ${secs(await broker.launch())}`);
      }),
    stop: () =>
      serial(async () => {
        if (stopped) return;
        stopped = true;
        await broker.destroy('SIGKILL');
      }),
  };
}
