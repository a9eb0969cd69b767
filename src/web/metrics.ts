// Prometheus metrics of the registered processors and views, read from their stats() at scrape
// time into a registry of this monitor's own (prom-client's global one would mix monitors).
// Counters come from the instance's run-long counters, so they only grow; gauges are reset and
// set on every scrape, so a partition that moved away disappears instead of going stale.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ProcessorStats, ViewStats } from '../stats.js';

export interface MetricSources {
  processors(): ProcessorStats[];
  views(): ViewStats[];
}

/** What a produced record was, by the topic it went to. */
function producedKind(s: ProcessorStats, topic: string): 'table' | 'loop' | 'emit' {
  return topic === s.topics.table ? 'table' : topic === s.topics.loop ? 'loop' : 'emit';
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Reads every source's stats once, then renders the Prometheus text format. */
  scrape(): Promise<string>;
}

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });

  const processed = counter('partita_records_processed_total', 'Input records processed', ['group', 'topic', 'partition']);
  const produced = counter('partita_records_produced_total', 'Records written and acked: emits, loopbacks, changelog (table) writes', ['group', 'topic', 'kind']);
  const rebalances = counter('partita_rebalances_total', 'Partition assignments received from the consumer group', ['group']);
  const lag = gauge('partita_consumer_lag', 'High-water mark minus committed offset, per input partition', ['group', 'topic', 'partition']);
  const pending = gauge('partita_pending_records', 'High-water mark minus processed offset, per input partition', ['group', 'topic', 'partition']);
  const committed = gauge('partita_committed_offset', 'Committed offset (next to consume), per input partition', ['group', 'topic', 'partition']);
  const highWatermark = gauge('partita_high_watermark', 'High-water mark, per input partition', ['group', 'topic', 'partition']);
  const partitions = gauge('partita_partitions', 'Partitions of this instance by state (actors and hot standbys)', ['group', 'state']);
  const queue = gauge('partita_actor_queue_depth', 'Records handed to an actor and not processed yet', ['group', 'partition']);
  const rate = gauge('partita_records_per_second', 'Records processed per second over about ten seconds', ['group', 'partition']);
  const recoveryRecords = gauge('partita_recovery_records', "Changelog records read by a partition's last recovery", ['group', 'partition']);
  const recoverySeconds = gauge('partita_recovery_duration_seconds', "Duration of a partition's last recovery", ['group', 'partition']);
  const loopDelay = gauge('partita_event_loop_delay_seconds', 'Event-loop delay of a thread hosting actors, over the last second', ['group', 'thread', 'quantile']);
  const up = gauge('partita_kafka_connected', '1 while Kafka answers, 0 during an outage', ['group']);
  const viewLag = gauge('partita_view_lag', 'Records of a view partition behind its high-water mark', ['table', 'partition']);
  const viewKeys = gauge('partita_view_keys', 'Keys in a view partition', ['table', 'partition']);
  const viewRecords = gauge('partita_view_records', 'Changelog records a view partition applied (recovery and following)', ['table', 'partition']);
  const viewRecovery = gauge('partita_view_recovery_duration_seconds', "Duration of a view partition's recovery", ['table', 'partition']);
  const viewStates = gauge('partita_view_partitions', 'View partitions by state', ['table', 'state']);

  const resettable = [processed, produced, rebalances, lag, pending, committed, highWatermark, partitions, queue, rate, recoveryRecords, recoverySeconds,
    loopDelay, up, viewLag, viewKeys, viewRecords, viewRecovery, viewStates];

  const collect = () => {
    for (const m of resettable) m.reset();
    for (const s of sources.processors()) {
      const group = s.group;
      for (const [topic, byPartition] of Object.entries(s.counters.processed)) {
        for (const [partition, n] of Object.entries(byPartition)) processed.inc({ group, topic, partition }, n);
      }
      for (const [topic, n] of Object.entries(s.counters.produced)) produced.inc({ group, topic, kind: producedKind(s, topic) }, n);
      rebalances.inc({ group }, s.counters.rebalances);
      up.set({ group }, s.connecting ? 0 : 1);
      const states = new Map<string, number>();
      for (const a of s.actors) {
        const partition = String(a.partition);
        states.set(a.state, (states.get(a.state) ?? 0) + 1);
        queue.set({ group, partition }, a.inflight);
        rate.set({ group, partition }, a.rate);
        if (a.recovery) {
          recoveryRecords.set({ group, partition }, a.recovery.records);
          recoverySeconds.set({ group, partition }, a.recovery.ms / 1000);
        }
        for (const [topic, o] of Object.entries(a.offsets)) {
          const labels = { group, topic, partition };
          if (o.lag !== null) lag.set(labels, o.lag);
          if (o.pending !== null) pending.set(labels, o.pending);
          if (o.committed !== null) committed.set(labels, o.committed);
          if (o.highWatermark !== null) highWatermark.set(labels, o.highWatermark);
        }
      }
      for (const sb of s.standby) states.set(sb.state, (states.get(sb.state) ?? 0) + 1);
      for (const [state, n] of states) partitions.set({ group, state }, n);
      for (const t of s.threads) {
        if (!t.loopDelay) continue;
        const thread = t.thread < 0 ? 'main' : String(t.thread);
        loopDelay.set({ group, thread, quantile: '0.5' }, t.loopDelay.p50 / 1000);
        loopDelay.set({ group, thread, quantile: '0.99' }, t.loopDelay.p99 / 1000);
        loopDelay.set({ group, thread, quantile: '1' }, t.loopDelay.max / 1000);
      }
    }
    for (const v of sources.views()) {
      const table = v.table;
      const states = new Map<string, number>();
      for (const p of v.partitions) {
        const partition = String(p.partition);
        states.set(p.state, (states.get(p.state) ?? 0) + 1);
        if (p.lag !== null) viewLag.set({ table, partition }, p.lag);
        viewKeys.set({ table, partition }, p.keys);
        viewRecords.set({ table, partition }, (p.recovery?.records ?? 0) + p.followed);
        if (p.recovery) viewRecovery.set({ table, partition }, p.recovery.ms / 1000);
      }
      for (const [state, n] of states) viewStates.set({ table, state }, n);
    }
  };
  return {
    registry,
    contentType: registry.contentType,
    scrape: async () => {
      collect();
      return registry.metrics();
    },
  };
}
