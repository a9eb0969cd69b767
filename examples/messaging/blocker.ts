/** blocker: `block` events (key: a user) → `blocker-table`: is that user blocked? */
import { codecs, defineGroup, persist } from '../../src/index.js';
import { BLOCK, BLOCKER } from './topics.js';

export default defineGroup(BLOCKER, [persist(codecs.json<boolean>())])
  .input(BLOCK, codecs.json<{ block: boolean }>(), (ctx, e) => ctx.setValue(e.block));
