// The group member's fetches, answered with record batches partita reads itself. kafkajs keeps
// its consumer loop (offsets, pauses, seeks, rebalances, fetch-error recovery); only the fetch
// of its brokers changes: partita's own Fetch v4 request, and a response in which each
// partition's batches are one message carrying the bytes, at the offset where the batches end.
// kafkajs then resolves and advances offsets as it would after the real records, and the main
// thread makes no object per record (the actor decodes the bytes). A response partita cannot
// read that way (compressed batches, aborted transactions) is decoded by kafkajs as before.
import type { KafkajsKafka } from './base.js';
import { kafkajsModule, sendKeyOf } from './base.js';
import { summarizeBatches } from '../record-batch.js';
import type { RecordChunk } from '../ports.js';

/** Where the batches ride on the stand-in message. */
export const RAW_BATCHES = Symbol('partita.rawBatches');

interface KafkajsEncoder {
  writeString(s: string): KafkajsEncoder;
  writeInt8(n: number): KafkajsEncoder;
  writeInt32(n: number): KafkajsEncoder;
  writeInt64(n: string): KafkajsEncoder;
}
interface FetchArgs {
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
}
interface PartitionData {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions: { producerId: string; firstOffset: string }[];
  messages: object[];
}
interface FetchResponse {
  throttleTime: number;
  responses: { topicName: string; partitions: PartitionData[] }[];
}
type Send = (req: unknown) => Promise<FetchResponse>;
interface KafkajsProtocol {
  decode(raw: Buffer): Promise<FetchResponse>;
  parse(data: FetchResponse): Promise<FetchResponse>;
}

const FETCH_API_KEY = 1;
const EMPTY = new Uint8Array(0);

/** The chunk a stand-in message carries, or undefined for a message kafkajs decoded. */
export function rawChunkOf(message: object): RecordChunk | undefined {
  return (message as { [RAW_BATCHES]?: RecordChunk })[RAW_BATCHES];
}

/** Reads a Fetch v4 response; null when some partition needs kafkajs's decoder. */
function decodeResponse(raw: Buffer, offsets: Map<string, number>): FetchResponse | null {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const utf8 = (at: number, n: number) => raw.toString('utf8', at, at + n);
  let at = 0;
  const throttleTime = v.getInt32(at);
  const nTopics = v.getInt32(at + 4);
  at += 8;
  const responses: FetchResponse['responses'] = [];
  for (let t = 0; t < nTopics; t++) {
    const nameLength = v.getInt16(at);
    const topicName = utf8(at + 2, nameLength);
    at += 2 + nameLength;
    const nParts = v.getInt32(at);
    at += 4;
    const partitions: PartitionData[] = [];
    for (let p = 0; p < nParts; p++) {
      const partition = v.getInt32(at);
      const errorCode = v.getInt16(at + 4);
      const highWatermark = v.getBigInt64(at + 6).toString();
      const lastStableOffset = v.getBigInt64(at + 14).toString();
      const aborted = v.getInt32(at + 22);
      at += 26;
      if (aborted > 0) return null; // kafkajs filters the aborted records
      const size = v.getInt32(at);
      at += 4;
      const bytes = size > 0 ? raw.subarray(at, at + size) : EMPTY;
      at += Math.max(0, size);
      const from = offsets.get(`${topicName}\u0000${partition}`) ?? 0;
      const sum = summarizeBatches(bytes, from, Number.POSITIVE_INFINITY);
      if (!sum.plain) return null;
      const messages: object[] = [];
      if (sum.end > 0) {
        const chunk: RecordChunk = { count: sum.count, last: sum.last, batches: { bytes, from, to: Number.POSITIVE_INFINITY } };
        // kafkajs reads offset, isControlRecord (and batchContext only with aborted transactions).
        messages.push({ offset: String(sum.end - 1), isControlRecord: false, key: null, value: null, timestamp: '0', headers: {}, [RAW_BATCHES]: chunk });
      }
      partitions.push({ partition, errorCode, highWatermark, lastStableOffset, abortedTransactions: [], messages });
    }
    responses.push({ topicName, partitions });
  }
  return { throttleTime, responses };
}

/** A Fetch v4 request of the consumer's partitions, starting at a rotating one (KIP-74 fairness). */
function fetchRequest(args: FetchArgs, rotate: number) {
  const flat = args.topics.flatMap(({ topic, partitions }) => partitions.map((p) => ({ topic, ...p })));
  const shift = flat.length > 0 ? rotate % flat.length : 0;
  const order = [...flat.slice(shift), ...flat.slice(0, shift)];
  const offsets = new Map(order.map((p) => [`${p.topic}\u0000${p.partition}`, Number(p.fetchOffset)]));
  const v4 = kafkajsModule<KafkajsProtocol>('kafkajs/src/protocol/requests/fetch/v4/response');
  return {
    request: {
      apiKey: FETCH_API_KEY,
      apiVersion: 4,
      apiName: 'Fetch',
      expectResponse: () => true,
      encode: async () => {
        const Encoder = kafkajsModule<new () => KafkajsEncoder>('kafkajs/src/protocol/encoder');
        // Consecutive partitions of one topic share its entry.
        const groups: { topic: string; parts: typeof order }[] = [];
        for (const p of order) {
          const last = groups[groups.length - 1];
          if (last?.topic === p.topic) last.parts.push(p);
          else groups.push({ topic: p.topic, parts: [p] });
        }
        const e = new Encoder().writeInt32(-1).writeInt32(args.maxWaitTime).writeInt32(args.minBytes).writeInt32(args.maxBytes).writeInt8(args.isolationLevel).writeInt32(groups.length);
        for (const g of groups) {
          e.writeString(g.topic).writeInt32(g.parts.length);
          for (const p of g.parts) e.writeInt32(p.partition).writeInt64(p.fetchOffset).writeInt32(p.maxBytes);
        }
        return e;
      },
    },
    response: {
      decode: async (raw: Buffer) => decodeResponse(raw, offsets) ?? (await v4.decode(raw)),
      // kafkajs's checks of the partitions' error codes, which its consumer recovers from.
      parse: (data: FetchResponse) => v4.parse(data),
    },
    requestTimeout: args.maxWaitTime + 30_000,
  };
}

interface KafkajsBrokerLike {
  fetch(args: FetchArgs): Promise<FetchResponse>;
}
interface ClusterLike {
  findBroker(q: { nodeId: string }): Promise<KafkajsBrokerLike>;
}

/**
 * Makes the clusters `kafka` creates from now on (its consumer's) fetch this way. Only this
 * kafkajs client is touched: kafkajs's modules, and any other client, stay as they are.
 */
export function fetchRawBatches(kafka: KafkajsKafka): void {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!sym) throw new Error('partita: this kafkajs version has no cluster factory (kafkajs 2.2.x expected)');
  const slot = kafka as unknown as Record<symbol, (o: object) => ClusterLike>;
  const create = slot[sym]!;
  slot[sym] = (options: object) => {
    const cluster = create(options);
    const find = cluster.findBroker.bind(cluster);
    const wrapped = new WeakSet<object>();
    let rotate = 0;
    cluster.findBroker = async (q) => {
      const broker = await find(q);
      if (!wrapped.has(broker)) {
        wrapped.add(broker);
        const send = (broker as unknown as Record<symbol, Send>)[sendKeyOf(broker)]!.bind(broker);
        broker.fetch = (args) => send(fetchRequest(args, rotate++));
      }
      return broker;
    };
    return cluster;
  };
}
