import test from 'ava';
import { pino } from 'pino';
import { kafkajsClient } from '../src/kafka/kafkajs/index.js';
import { TopicManager } from '../src/kafka/topic-manager.js';
import { NotCopartitionedError, TopicError } from '../src/index.js';
import { brokers, createTopics, unique } from './helpers.js';

function manager(mismatch: 'ignore' | 'warn' | 'fail' = 'fail', replication?: number) {
  const logger = pino({ level: 'silent' });
  const client = kafkajsClient({ brokers: brokers(), clientId: unique('tm'), logger, brokerOutageMs: 60_000, connectTimeoutMs: 10_000 });
  return new TopicManager(client.admin(), logger, { mismatch, ...(replication !== undefined ? { replication } : {}) });
}

test('ensureTable creates a compacted topic; the broker reports cleanup.policy=compact', async (t) => {
  const tm = manager();
  t.teardown(() => tm.close());
  const table = unique('tm-table');
  await tm.ensureTable(table, 4);
  t.is(await tm.partitions(table), 4);
  t.is((await tm.describeConfig(table))['cleanup.policy'], 'compact');
  await tm.ensureTable(table, 4); // idempotent
  const stream = unique('tm-stream');
  await tm.ensureStream(stream, 2);
  t.is((await tm.describeConfig(stream))['cleanup.policy'], 'delete');
});

test('mismatches are handled per policy and name the topic and the counts', async (t) => {
  const topic = unique('tm-mis');
  await createTopics([{ topic, partitions: 3 }]);
  const strict = manager('fail');
  t.teardown(() => strict.close());
  await t.throwsAsync(strict.ensureTable(topic, 3), { instanceOf: TopicError, message: new RegExp(`topic '${topic}' has cleanup.policy=delete, expected compact`) });
  await t.throwsAsync(strict.ensureStream(topic, 5), { instanceOf: TopicError, message: new RegExp(`'${topic}' has 3 partitions, expected 5`) });
  const lax = manager('ignore');
  t.teardown(() => lax.close());
  await t.notThrowsAsync(lax.ensureTable(topic, 5));
});

test('co-partitioning check: equal counts pass, different counts and missing topics fail clearly', async (t) => {
  const a = unique('cp-a');
  const b = unique('cp-b');
  const c = unique('cp-c');
  await createTopics([{ topic: a, partitions: 4 }, { topic: b, partitions: 4 }, { topic: c, partitions: 2 }]);
  const tm = manager();
  t.teardown(() => tm.close());
  t.is(await tm.checkCopartitioned([a, b], 'test'), 4);
  // Counts fetched once for more topics than are checked: only the checked ones count.
  const all = await tm.partitionCounts([a, b, c]);
  t.is(await tm.checkCopartitioned([a, b], 'test', all), 4);
  t.is(await tm.ensureStream(b, 4, all), 4);
  const err = await t.throwsAsync(tm.checkCopartitioned([a, c], 'test'), { instanceOf: NotCopartitionedError });
  t.regex(err!.message, new RegExp(`${a}=4, ${c}=2`));
  const missing = unique('cp-missing');
  await t.throwsAsync(tm.checkCopartitioned([a, missing], 'test'), { instanceOf: TopicError, message: new RegExp(`'${missing}' not found`) });
});

test('a topic the broker refuses (replication above its brokers) fails at once with TopicError and the broker\'s reason', async (t) => {
  const tm = manager('fail', 3);
  t.teardown(() => tm.close());
  const table = unique('tm-refused');
  const started = Date.now();
  const err = await t.throwsAsync(tm.ensureTable(table, 2), { instanceOf: TopicError });
  t.regex(err!.message, new RegExp(`cannot create topic '${table}': the broker refused it \\(INVALID_REPLICATION_FACTOR: `));
  // Before, it waited 15 s for the topic to appear in the metadata, then said "Topic creation errors".
  t.true(Date.now() - started < 5000, `failed after ${Date.now() - started} ms`);
  t.is(await tm.partitions(table), undefined);
});
