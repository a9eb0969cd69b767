import { createRequire } from 'node:module';
import type * as PinoModule from 'pino';
import type { Logger } from 'pino';

/** pino, loaded when a logger is made: actor threads import partita but never log through it. */
const loadPino = () => createRequire(import.meta.url)('pino') as typeof PinoModule;

export type { Logger };

/**
 * The logger used when the user passes none: pino to stderr, level from PARTITA_LOG_LEVEL
 * (default 'info'). The test runner sets PARTITA_LOG_LEVEL=silent.
 */
export function defaultLogger(name: string): Logger {
  const { pino } = loadPino();
  return pino({ name, level: process.env['PARTITA_LOG_LEVEL'] ?? 'info' }, pino.destination(2));
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const CONTEXT = ['group', 'emitter', 'view', 'partition'];
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v', ...CONTEXT]);

/** One pino record as a line a person reads: time, level, context, message, then the other fields. */
export function formatLine(rec: Record<string, unknown>): string {
  const time = new Date(Number(rec['time'] ?? Date.now())).toISOString().slice(11, 23);
  const level = (LEVELS[Number(rec['level'])] ?? String(rec['level'])).padEnd(5);
  const ctx = CONTEXT.filter((k) => rec[k] !== undefined).map((k) => `${k}=${String(rec[k])}`).join(' ');
  const rest = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => {
      if (k === 'err' && v && typeof v === 'object') return `err=${(v as { message?: string }).message ?? JSON.stringify(v)}`;
      return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    })
    .join(' ');
  return `${time} ${level} ${rec['name'] ?? 'partita'}${ctx ? ` [${ctx}]` : ''}: ${String(rec['msg'] ?? '')}${rest ? `  (${rest})` : ''}\n`;
}

/** A pino logger that writes human-readable lines (for terminals and demos), not JSON. */
export function humanLogger(options: { name?: string; level?: string; stream?: NodeJS.WritableStream } = {}): Logger {
  const out = options.stream ?? process.stderr;
  const { pino } = loadPino();
  return pino({ name: options.name ?? 'partita', level: options.level ?? process.env['PARTITA_LOG_LEVEL'] ?? 'info' }, {
    write(line: string) {
      try {
        out.write(formatLine(JSON.parse(line) as Record<string, unknown>));
      } catch {
        out.write(line);
      }
    },
  });
}
