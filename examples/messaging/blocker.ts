/** blocker: `block` events (key: a user) → `blocker-table`: is that user blocked? */
import { codecs, defineGroup, input, persist } from '../../src/index.js';
import { BLOCK, BLOCKER } from './topics.js';

export default defineGroup(BLOCKER, [
  input(BLOCK, codecs.json<{ block: boolean }>(), (ctx, e) => ctx.setValue(e.block)),
  persist(codecs.json<boolean>()),
]);
