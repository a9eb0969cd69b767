/**
 * Goka's `3-messaging` example, ported (topic names, shared by its groups). Names come from
 * PARTITA_EXAMPLE_PREFIX (default none) so tests can run it in isolation.
 */
const prefix = process.env['PARTITA_EXAMPLE_PREFIX'] ?? '';
export const SEND = `${prefix}send`;
export const RECEIVED = `${prefix}received`;
export const BLOCK = `${prefix}block`;
export const TRANSLATE = `${prefix}translate`;
export const BLOCKER = `${prefix}blocker`;
export const TRANSLATOR = `${prefix}translator`;
export const FILTER = `${prefix}filter`;
export const COLLECTOR = `${prefix}collector`;

/** A message as sent (key: the sender). */
export interface Sent {
  to: string;
  text: string;
}

/** A message as received (key: the recipient). */
export interface Received {
  from: string;
  text: string;
}
