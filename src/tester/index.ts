// partita/tester: the in-memory harness for unit tests of groups (see tester.ts).
export { Tester, TesterProcessor, type TesterOptions, type TesterProcessorOptions, type QueuedRecord, type Queue, type TableReader } from './tester.js';
export { MemoryKafka } from './memory-kafka.js';
