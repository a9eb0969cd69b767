import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The logger used when the user passes none: pino to stderr, level from PARTITA_LOG_LEVEL
 * (default 'info'). The test runner sets PARTITA_LOG_LEVEL=silent.
 */
export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env['PARTITA_LOG_LEVEL'] ?? 'info' }, pino.destination(2));
}
