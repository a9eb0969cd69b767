// partita/tester: the in-memory harness for unit tests of groups (see tester.ts).
export { Tester, TesterProcessor, type TesterOptions, type TesterProcessorOptions, type QueuedRecord } from './tester.js';
export { MemoryKafka } from './memory-kafka.js';
