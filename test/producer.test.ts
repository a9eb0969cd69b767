// partita's own produce requests on a real broker: a request to several partitions where one of
// them fails has written the others, so a retry must send only the one that failed.
import test from 'ava';
import { pino } from 'pino';
import { kafkajsClient } from '../src/kafka/kafkajs/index.js';
import { brokers, createTopics, kafka, unique, waitFor } from './helpers.js';

const enc = new TextEncoder();

test('a produce request where one partition fails is retried for that partition only: the others are written once', async (t) => {
  const healthy = unique('prod-ok');
  const gone = unique('prod-gone');
  await createTopics([{ topic: healthy, partitions: 1 }, { topic: gone, partitions: 1 }]);
  const admin = kafka().admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const end = async (topic: string) => Number((await admin.fetchTopicOffsets(topic))[0]!.high);

  const client = kafkajsClient({ brokers: brokers(), clientId: unique('prod'), logger: pino({ level: 'silent' }), brokerOutageMs: 60_000, connectTimeoutMs: 10_000 });
  const producer = client.producer();
  t.teardown(() => producer.close());
  const records = (topic: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, partition: 0, key: enc.encode(`k${i}`), value: enc.encode(`v${i}`) }));
  // The producer learns both topics' leaders; then one topic is deleted behind its back, so the
  // next request carries a partition the broker answers with UNKNOWN_TOPIC_OR_PARTITION (retriable).
  await producer.send([...records(healthy, 1), ...records(gone, 1)]);
  await admin.deleteTopics({ topics: [gone], timeout: 30_000 });
  await waitFor(`${gone} to be deleted`, async () => !(await admin.listTopics()).includes(gone));
  const sent = producer.send([...records(healthy, 3), ...records(gone, 3)]);
  await waitFor('the first attempt to write the healthy topic', async () => (await end(healthy)) >= 4);
  // Retried until the topic is back; then its records go, and only its records.
  await createTopics([{ topic: gone, partitions: 1 }]);
  const acks = await sent;
  t.deepEqual(acks.map((a) => a.topic).sort(), [healthy, gone].sort());
  t.is(await end(gone), 3);
  t.is(await end(healthy), 4, 'the healthy topic was written once by the send, not once per attempt');
});
