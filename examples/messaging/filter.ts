/**
 * filter: messages sent (key: the sender) are dropped when the sender is blocked (a JOIN of the
 * co-partitioned `blocker-table`: the sender's own row), and otherwise translated word by word
 * (a LOOKUP in `translator-table`, any key) and forwarded to `received`, keyed by the recipient.
 */
import { codecs, defineGroup, join, lookup, output } from '../../src/index.js';
import { BLOCKER, FILTER, RECEIVED, SEND, TRANSLATOR, type Received, type Sent } from './topics.js';

export default defineGroup(FILTER, [
  join(`${BLOCKER}-table`, codecs.json<boolean>()),
  lookup(`${TRANSLATOR}-table`, codecs.string),
  output(RECEIVED, codecs.json<Received>()),
]).input(SEND, codecs.json<Sent>(), (ctx, m) => {
  if (ctx.join(`${BLOCKER}-table`) === true) return;
  const text = m.text
    .split(' ')
    .map((w) => ctx.lookup(`${TRANSLATOR}-table`, w) ?? w)
    .join(' ');
  ctx.emit(RECEIVED, m.to, { from: ctx.key, text });
});
