// Fetch v4, as partita sends it on kafkajs's connections (the reader's one partition, the group
// member's several): the request in kafkajs's framing, and a reader of the response that leaves
// each partition's record batches as bytes (see record-batch.ts), where kafkajs would decode them.
import { lazyKafkajsModule, newEncoder } from './base.js';

export interface FetchPartition {
  topic: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

export interface FetchOptions {
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  /** 1: read committed. */
  isolationLevel: number;
  /** In the order the broker should fill the response; consecutive ones of a topic share its entry. */
  partitions: FetchPartition[];
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  /** Aborted transactions the broker names for this range (-1: none given). */
  abortedTransactions: number;
  /** The record batches; the last may be cut short. */
  records: Uint8Array;
}

const FETCH_API_KEY = 1;

/** kafkajs's own Fetch v4 response decoder (and its error-code checks), for what partita does not read itself. */
const fetchV4Response = lazyKafkajsModule<{ decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> }>('kafkajs/src/protocol/requests/fetch/v4/response');
export const kafkajsFetchV4 = <R>() => fetchV4Response() as { decode(raw: Buffer): Promise<R>; parse(data: R): Promise<R> };
const EMPTY = new Uint8Array(0);

/** A request for kafkajs's Broker send method; `decode` turns the raw response into `T`. */
export function fetchV4Request<T>(o: FetchOptions, decode: (raw: Buffer) => Promise<T> | T, parse: (data: T) => Promise<T> | T = (d) => d) {
  return {
    request: {
      apiKey: FETCH_API_KEY,
      apiVersion: 4,
      apiName: 'Fetch',
      expectResponse: () => true,
      encode: async () => {
        const groups: { topic: string; parts: FetchPartition[] }[] = [];
        for (const p of o.partitions) {
          const last = groups[groups.length - 1];
          if (last?.topic === p.topic) last.parts.push(p);
          else groups.push({ topic: p.topic, parts: [p] });
        }
        const e = newEncoder()
          .writeInt32(-1) // replica id: a consumer
          .writeInt32(o.maxWaitTime)
          .writeInt32(o.minBytes)
          .writeInt32(o.maxBytes)
          .writeInt8(o.isolationLevel)
          .writeInt32(groups.length);
        for (const g of groups) {
          e.writeString(g.topic).writeInt32(g.parts.length);
          for (const p of g.parts) e.writeInt32(p.partition).writeInt64(String(p.fetchOffset)).writeInt32(p.maxBytes);
        }
        return e;
      },
    },
    response: { decode: async (raw: Buffer) => decode(raw), parse: async (data: T) => parse(data) },
    requestTimeout: o.maxWaitTime + 30_000,
  };
}

/** The partitions of a Fetch v4 response, in order; `records` are views into `raw`. */
export function readFetchV4(raw: Buffer): FetchedPartition[] {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: FetchedPartition[] = [];
  let at = 4; // throttle time
  const nTopics = v.getInt32(at);
  at += 4;
  for (let t = 0; t < nTopics; t++) {
    const nameLength = v.getInt16(at);
    const topic = raw.toString('utf8', at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const nParts = v.getInt32(at);
    at += 4;
    for (let p = 0; p < nParts; p++) {
      const partition = v.getInt32(at);
      const errorCode = v.getInt16(at + 4);
      const highWatermark = v.getBigInt64(at + 6);
      const lastStableOffset = v.getBigInt64(at + 14);
      const abortedTransactions = v.getInt32(at + 22);
      at += 26 + Math.max(0, abortedTransactions) * 16; // each: producer id, first offset
      const size = v.getInt32(at);
      at += 4;
      const records = size > 0 ? raw.subarray(at, at + size) : EMPTY;
      at += Math.max(0, size);
      out.push({ topic, partition, errorCode, highWatermark, lastStableOffset, abortedTransactions, records });
    }
  }
  return out;
}
