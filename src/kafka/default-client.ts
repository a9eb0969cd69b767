// The KafkaClientFactory of a processor, emitter or view: the one given, or kafkajs's, imported
// on first use. Worker threads import partita for defineGroup and codecs and never talk to
// Kafka; loading the kafkajs seam there (eight modules and kafkajs) cost each thread ~13-25 ms of its start.
import type { KafkaClientFactory } from './ports.js';

export async function clientFactory(given: KafkaClientFactory | undefined): Promise<KafkaClientFactory> {
  return given ?? (await import('./kafkajs/index.js')).kafkajsClient;
}
