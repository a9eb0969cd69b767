// Smoke test of the real-broker harness: run through `node dist/scripts/with-kafka.js npx ava dist/test/broker.test.js`.
import test from 'ava';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

test('a real broker creates a topic and round-trips one message', async (t) => {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) {
    t.fail('KAFKA_BROKERS is not set: run the tests via `node dist/scripts/with-kafka.js npx ava` (or `npm run kafka`).');
    return;
  }

  const id = `broker-test-${process.pid}-${Date.now()}`;
  const kafka = new Kafka({ clientId: id, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: id });
  try {
    await admin.connect();
    t.true(await admin.createTopics({ topics: [{ topic: id, numPartitions: 1 }], waitForLeaders: true }));

    await producer.connect();
    await producer.send({ topic: id, messages: [{ key: 'k', value: 'hello partita' }] });

    await consumer.connect();
    await consumer.subscribe({ topics: [id], fromBeginning: true });
    const received = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(`${message.key?.toString()}=${message.value?.toString()}`);
        },
      });
    });
    t.is(received, 'k=hello partita');
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [id] }).catch(() => {});
    await admin.disconnect();
  }
});
