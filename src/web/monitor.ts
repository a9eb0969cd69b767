// partita/web: an HTTP server (node:http) over registered processors and views: a live page,
// a query page, their JSON API, and Prometheus metrics.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, NotFoundError, PartitaError } from '../errors.js';
import type { Processor } from '../processor.js';
import type { ProcessorStats, ViewStats } from '../stats.js';
import type { View } from '../view.js';
import { createMetrics } from './metrics.js';
import { MONITOR_JS, QUERY_JS, monitorPage, queryPage } from './pages.js';

export interface MonitorOptions {
  /** Default 9095; 0 picks a free port (see `url`). */
  port?: number;
  /** Default 127.0.0.1: the monitor reads any key, so it is not exposed unless asked. */
  host?: string;
  processors?: Processor<any>[];
  views?: View<any>[];
}

export interface Monitor {
  /** Where the monitor listens, e.g. http://127.0.0.1:9095/ */
  readonly url: string;
  close(): Promise<void>;
}

/** A source of /api/get: a processor's table (by group name) or a view (by table name). */
interface Source {
  get(key: string): Promise<unknown>;
}

/** Values as JSON: bigints (int64) as numbers when exact, else strings; bytes as base64. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString('base64') };
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = e instanceof PartitaError ? e.code : undefined;
  send(res, status, 'application/json', toJson({ error: { name: e.name, message: e.message, ...(code ? { code } : {}) } }));
}

export async function monitor(options: MonitorOptions = {}): Promise<Monitor> {
  const processors = options.processors ?? [];
  const views = options.views ?? [];
  const port = options.port ?? 9095;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`monitor: port must be 0-65535, got ${String(options.port)}`);
  const host = options.host ?? '127.0.0.1';

  const processorStats = (): ProcessorStats[] => processors.map((p) => p.stats());
  const viewStats = (): ViewStats[] => views.map((v) => v.stats());
  const metrics = createMetrics({ processors: processorStats, views: viewStats });
  const source = (name: string): Source | undefined => {
    const p = processors.find((x) => x.stats().group === name);
    if (p) return p;
    return views.find((v) => v.table === name);
  };

  const require = createRequire(import.meta.url);
  const uplotDir = require.resolve('uplot/dist/uPlot.iife.min.js').replace(/uPlot\.iife\.min\.js$/, '');
  const assets: Record<string, { type: string; body: () => string | Buffer }> = {
    '/assets/uPlot.iife.min.js': { type: 'text/javascript', body: () => readFileSync(`${uplotDir}uPlot.iife.min.js`) },
    '/assets/uPlot.min.css': { type: 'text/css', body: () => readFileSync(`${uplotDir}uPlot.min.css`) },
    '/assets/monitor.js': { type: 'text/javascript', body: () => MONITOR_JS },
    '/assets/query.js': { type: 'text/javascript', body: () => QUERY_JS },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://monitor');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, new InvalidArgumentError(`${req.method} is not supported`));
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', monitorPage());
      case '/query':
        return send(res, 200, 'text/html; charset=utf-8', queryPage());
      case '/api/stats':
        return send(res, 200, 'application/json', toJson({ at: Date.now(), processors: processorStats(), views: viewStats() }));
      case '/api/get': {
        const name = url.searchParams.get('source') ?? '';
        const key = url.searchParams.get('key');
        if (key === null) return sendError(res, 400, new InvalidArgumentError('/api/get needs ?source=<group or table>&key=<key>'));
        const s = source(name);
        if (!s) return sendError(res, 404, new NotFoundError(`no processor group or view table named '${name}' is registered with the monitor`));
        try {
          const value = await s.get(key);
          return send(res, 200, 'application/json', toJson({ source: name, key, found: value !== undefined, value: value ?? null }));
        } catch (err) {
          return sendError(res, err instanceof NotFoundError ? 404 : 500, err);
        }
      }
      case '/metrics':
        return send(res, 200, metrics.contentType, await metrics.scrape());
      default: {
        const asset = assets[url.pathname];
        if (asset) return send(res, 200, asset.type, asset.body());
        return sendError(res, 404, new NotFoundError(`no page ${url.pathname}`));
      }
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, err);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new InvalidArgumentError(`monitor: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
