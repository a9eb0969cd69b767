/** translator: `translate` events (key: a word, value: its translation) → `translator-table`. */
import { codecs, defineGroup, persist } from '../../src/index.js';
import { TRANSLATE, TRANSLATOR } from './topics.js';

export default defineGroup(TRANSLATOR, [persist(codecs.string)])
  .input(TRANSLATE, codecs.string, (ctx, translation) => ctx.setValue(translation));
