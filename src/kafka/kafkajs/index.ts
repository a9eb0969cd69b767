// The kafkajs implementation of the ports: one KafkaClient per processor, emitter or view,
// sharing one BrokerHealth, so an outage is one episode whichever call notices it first.
import { BrokerHealth } from '../broker-health.js';
import type { AdminPort, ClientOptions, GroupMemberOptions, GroupMemberPort, KafkaClient, ProducerPort, ReaderPort } from '../ports.js';
import { KafkajsAdminPort } from './admin.js';
import { createKafka, SocketGate, type KafkajsKafka } from './base.js';
import { KafkajsGroupMember } from './group-member.js';
import { KafkajsProducerPort } from './producer.js';
import { KafkajsReaderPort } from './reader.js';

class KafkajsClient implements KafkaClient {
  readonly brokers: readonly string[];
  readonly #o: ClientOptions;
  readonly #health: BrokerHealth;
  readonly #kafka: KafkajsKafka;

  constructor(o: ClientOptions) {
    this.#o = o;
    this.brokers = [...o.brokers];
    this.#health = new BrokerHealth({ brokers: o.brokers, brokerOutageMs: o.brokerOutageMs, connectTimeoutMs: o.connectTimeoutMs, logger: o.logger });
    // Producers, readers and admins are closed by their owners; their sockets need no gate.
    this.#kafka = createKafka({ brokers: o.brokers, clientId: o.clientId, logger: o.logger, gate: new SocketGate() });
  }

  producer(): ProducerPort {
    return new KafkajsProducerPort(this.#kafka, this.#health);
  }

  reader(): ReaderPort {
    return new KafkajsReaderPort(this.#kafka, this.#health);
  }

  admin(): AdminPort {
    return new KafkajsAdminPort(this.#kafka, this.#health);
  }

  isDown(): boolean {
    return this.#health.down;
  }

  groupMember(options: GroupMemberOptions): GroupMemberPort {
    return new KafkajsGroupMember(options, { brokers: this.brokers, clientId: this.#o.clientId, logger: this.#o.logger, health: this.#health });
  }
}

/** The default KafkaClientFactory. */
export function kafkajsClient(options: ClientOptions): KafkaClient {
  return new KafkajsClient(options);
}
