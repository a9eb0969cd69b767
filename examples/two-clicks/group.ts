/**
 * Goka's `2-clicks` example, ported: a group that counts clicks per user in its table.
 * Names come from PARTITA_EXAMPLE_PREFIX (default none), so tests can run it in isolation;
 * worker threads see the same environment.
 */
import { codecs, defineGroup, persist } from '../../src/index.js';

const prefix = process.env['PARTITA_EXAMPLE_PREFIX'] ?? '';
export const CLICKS = `${prefix}user-clicks`;
export const GROUP = `${prefix}mini-group`;
export const TABLE = `${GROUP}-table`;

export interface ClickCount {
  clicks: number;
}

export default defineGroup(GROUP, [persist(codecs.json<ClickCount>())]).input(CLICKS, codecs.string, (ctx) => {
  const row = ctx.value() ?? { clicks: 0 };
  ctx.setValue({ clicks: row.clicks + 1 });
});
