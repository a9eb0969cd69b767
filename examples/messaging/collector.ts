/** collector: `received` messages (key: the recipient) → the last 5 per user in `collector-table`. */
import { codecs, defineGroup, persist } from '../../src/index.js';
import { COLLECTOR, RECEIVED, type Received } from './topics.js';

export default defineGroup(COLLECTOR, [persist(codecs.json<Received[]>())]).input(RECEIVED, codecs.json<Received>(), (ctx, m) => {
  const inbox = ctx.value() ?? [];
  ctx.setValue([...inbox, m].slice(-5));
});
