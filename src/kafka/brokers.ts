import { InvalidArgumentError } from '../errors.js';

/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address. */
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

/**
 * Checks a broker list where it is given (Processor, Emitter, View). kafkajs checks it only when it
 * first connects, and run() then rejected with its raw KafkaJSNonRetriableError. With a custom
 * `kafkaClient` (the tester's in-memory cluster) the names are that client's: only non-empty strings.
 */
export function checkBrokers(where: string, brokers: unknown, customClient: boolean): void {
  if (!Array.isArray(brokers) || brokers.length === 0) throw new InvalidArgumentError(`${where}: brokers must name at least one broker`);
  for (const b of brokers as unknown[]) {
    if (customClient && typeof b === 'string' && b.length > 0) continue;
    const m = typeof b === 'string' ? BROKER.exec(b) : null;
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`${where}: brokers must be "host:port" strings, got ${typeof b === 'string' ? JSON.stringify(b) : String(b)}`);
    }
  }
}
