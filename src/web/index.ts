// partita/web: the live monitor, query UI, JSON API and Prometheus metrics.
export { monitor, type Monitor, type MonitorOptions } from './monitor.js';
export { createMetrics, type Metrics, type MetricSources } from './metrics.js';
