// kafkajs 2.2.4's request queue re-arms a 1 ms timer after every answer, forever (kafkajs issue
// #1704): partita's clients get a queue check that runs only while requests wait.
import test from 'ava';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { clusterOf, createKafka, quietRequestQueue, SocketGate, type RequestQueueLike } from '../src/kafka/kafkajs/base.js';
import { brokers, waitFor } from './helpers.js';

interface Queue extends RequestQueueLike {
  fulfillRequest(r: { correlationId: number; payload: null; size: number }): void;
  maybeThrottle(ms: number): void;
  push(r: { entry: { correlationId: number; apiName: string; apiKey: number; apiVersion: number; resolve(): void; reject(): void }; expectResponse: boolean; sendRequest(): void }): void;
  destroy(): void;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue') as new (o: object) => Queue;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const newQueue = () => new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger: quiet });
const answer = (q: Queue) => q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });

test('kafkajs request queue: no timer after an answer; a throttled request is still sent when the throttle ends', async (t) => {
  const stock = newQueue();
  answer(stock);
  t.not(stock.throttleCheckTimeoutId, null, 'stock kafkajs arms its check after an answer (if not, kafkajs fixed #1704 and the override can go)');
  stock.destroy();

  const q = newQueue();
  quietRequestQueue(q);
  answer(q);
  t.is(q.throttleCheckTimeoutId, null);

  q.maybeThrottle(30);
  let sent = false;
  q.push({ entry: { correlationId: 2, apiName: 'Test', apiKey: 0, apiVersion: 0, resolve() {}, reject() {} }, expectResponse: false, sendRequest: () => (sent = true) });
  t.false(sent, 'throttled: the request waits');
  t.not(q.throttleCheckTimeoutId, null, 'and a check is armed for the end of the throttle');
  await waitFor('the throttled request to be sent', () => sent, 5000, 5);
  t.is(q.throttleCheckTimeoutId, null, 'nothing waits any more: no timer');
});

test("partita's kafkajs clients arm no queue timer after an answer", async (t) => {
  const kafka = createKafka({ brokers: brokers(), clientId: 'request-queue-test', logger: pino({ level: 'silent' }), gate: new SocketGate() });
  const cluster = clusterOf(kafka) as unknown as { connect(): Promise<void>; disconnect(): Promise<void>; refreshMetadata(): Promise<void>; brokerPool: { seedBroker: { connectionPool: { pool: { requestQueue: Queue }[] } } } };
  await cluster.connect();
  t.teardown(() => cluster.disconnect());
  await cluster.refreshMetadata();
  const queues = cluster.brokerPool.seedBroker.connectionPool.pool.map((c) => c.requestQueue);
  t.is(queues.length, 2);
  for (const q of queues) t.is(q.throttleCheckTimeoutId, null);
});
