/** translator: `translate` events (key: a word, value: its translation) → `translator-table`. */
import { codecs, defineGroup, input, persist } from '../../src/index.js';
import { TRANSLATE, TRANSLATOR } from './topics.js';

export default defineGroup(TRANSLATOR, [
  input(TRANSLATE, codecs.string, (ctx, translation) => ctx.setValue(translation)),
  persist(codecs.string),
]);
