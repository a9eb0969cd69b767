// The group member's fetches, answered with record batches partita reads itself. kafkajs keeps
// its consumer loop (offsets, pauses, seeks, rebalances, fetch-error recovery); only the fetch
// of its brokers changes: partita's own Fetch v4 request, and a response in which each
// partition's batches are one message carrying the bytes, at the offset where the batches end.
// kafkajs then resolves and advances offsets as it would after the real records, and the main
// thread makes no object per record (the actor decodes the bytes). A response partita cannot
// read that way (compressed batches, aborted transactions) is decoded by kafkajs as before.
import type { KafkajsKafka } from './base.js';
import { onEachCluster, sendRequest } from './base.js';
import { summarizeBatches } from '../record-batch.js';
import { fetchV4Request, kafkajsFetchV4, readFetchV4 } from './fetch-v4.js';
import type { RecordChunk } from '../ports.js';

/** Where the batches ride on the stand-in message. */
export const RAW_BATCHES = Symbol('partita.rawBatches');

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

/** The chunk a stand-in message carries, or undefined for a message kafkajs decoded. */
export function rawChunkOf(message: object): RecordChunk | undefined {
  return (message as { [RAW_BATCHES]?: RecordChunk })[RAW_BATCHES];
}

/** A Fetch v4 response in kafkajs's shape; null when some partition needs kafkajs's decoder. */
function decodeResponse(raw: Buffer, offsets: Map<string, number>): FetchResponse | null {
  const responses: FetchResponse['responses'] = [];
  for (const p of readFetchV4(raw)) {
    if (p.abortedTransactions > 0) return null; // kafkajs filters the aborted records
    const from = offsets.get(`${p.topic}\u0000${p.partition}`) ?? 0;
    const sum = summarizeBatches(p.records, from, Number.POSITIVE_INFINITY);
    if (!sum.plain) return null;
    const messages: object[] = [];
    if (sum.end > 0) {
      const chunk: RecordChunk = { count: sum.count, last: sum.last, batches: { bytes: p.records, from, to: Number.POSITIVE_INFINITY } };
      // kafkajs reads offset, isControlRecord (and batchContext only with aborted transactions).
      messages.push({ offset: String(sum.end - 1), isControlRecord: false, key: null, value: null, timestamp: '0', headers: {}, [RAW_BATCHES]: chunk });
    }
    const data: PartitionData = {
      partition: p.partition,
      errorCode: p.errorCode,
      highWatermark: p.highWatermark.toString(),
      lastStableOffset: p.lastStableOffset.toString(),
      abortedTransactions: [],
      messages,
    };
    const last = responses[responses.length - 1];
    if (last?.topicName === p.topic) last.partitions.push(data);
    else responses.push({ topicName: p.topic, partitions: [data] });
  }
  return { throttleTime: raw.readInt32BE(0), responses };
}

/** A Fetch v4 request of the consumer's partitions, starting at a rotating one (KIP-74 fairness). */
function fetchRequest(args: FetchArgs, rotate: number) {
  const flat = args.topics.flatMap(({ topic, partitions }) => partitions.map((p) => ({ topic, partition: p.partition, fetchOffset: Number(p.fetchOffset), maxBytes: p.maxBytes })));
  const shift = flat.length > 0 ? rotate % flat.length : 0;
  const partitions = [...flat.slice(shift), ...flat.slice(0, shift)];
  const offsets = new Map(partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p.fetchOffset]));
  const v4 = kafkajsFetchV4<FetchResponse>();
  const { maxWaitTime, minBytes, maxBytes, isolationLevel } = args;
  return fetchV4Request(
    { maxWaitTime, minBytes, maxBytes, isolationLevel, partitions },
    async (raw) => decodeResponse(raw, offsets) ?? (await v4.decode(raw)),
    // kafkajs's checks of the partitions' error codes, which its consumer recovers from.
    (data) => v4.parse(data),
  );
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
  onEachCluster<ClusterLike>(kafka, (cluster) => {
    const find = cluster.findBroker.bind(cluster);
    const wrapped = new WeakSet<object>();
    let rotate = 0;
    cluster.findBroker = async (q) => {
      const broker = await find(q);
      if (!wrapped.has(broker)) {
        wrapped.add(broker);
        broker.fetch = (args) => sendRequest<FetchResponse>(broker, fetchRequest(args, rotate++));
      }
      return broker;
    };
  });
}
