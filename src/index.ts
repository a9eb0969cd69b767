export { Processor, type ProcessorOptions, type RunOptions, type UntypedGraph } from './processor.js';
export { Emitter, type EmitterOptions, type EmitOptions as EmitterEmitOptions } from './emitter.js';
export { View, type ViewOptions, type ViewStats, type ViewPartitionStats, type ViewState, type ViewUpdate } from './view.js';
export type { ProcessorStats, PartitionStats, InputOffsets, LookupStats, StandbyStats, RecoveryStats, CounterStats, ThreadStats, LoopDelayStats } from './stats.js';
export type { TableUpdate, UpdateCallback } from './table/update.js';
export type { TableEdgeOptions, GraphType, SpecOf, TableValue, ContextOf, OutputName, OutputValue, VisitorName, VisitorMeta } from './graph/define-group.js';
export {
  defineGroup, input, inputs, output, persist, loop, join, lookup, visitor, GroupGraph,
  type Callback, type Edge, type InputEdge, type OutputEdge, type PersistEdge, type LoopEdge, type JoinEdge, type LookupEdge, type VisitorEdge,
} from './graph/define-group.js';
export type { Context, EmitOptions, WriteOptions, GroupSpec, AnySpec, UnknownSpec, EmptySpec } from './graph/context.js';
export { tableTopic, loopTopic, type NamingOptions } from './graph/naming.js';
export { codecs, type Codec, type CodecValue } from './codec/codec.js';
export { hashers, murmur2Hash, fnv1a32, type Hasher } from './hashers.js';
export type { TopicSettings, MismatchPolicy } from './kafka/topic-manager.js';
export type { HeadersInit, Headers } from './headers.js';
export type { NilHandling } from './runtime/protocol.js';
export * from './errors.js';
export type {
  KafkaClientFactory, KafkaClient, ClientOptions, ProducerPort, ReaderPort, AdminPort, GroupMemberPort, GroupHandlers, GroupMemberOptions,
  KafkaRecord, OutRecord, ProduceAck, Watermarks, TopicOffset, ReadOptions, TopicSpec, GroupDescription, GroupMemberInfo,
} from './kafka/ports.js';
export { humanLogger, formatLine, type Logger } from './logger.js';
