/**
 * The service side of the 2-clicks example, in another process: a View of `mini-group-table`
 * behind an HTTP server. GET /<user> answers that user's click count as JSON.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 PORT=9095 node dist/examples/two-clicks/view-server.js
 *   curl localhost:9095/user-3        → {"clicks":42}
 */
import { createServer } from 'node:http';
import { View, codecs, humanLogger } from '../../src/index.js';
import { TABLE, type ClickCount } from './group.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = humanLogger({ name: 'view-server' });
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());

const view = new View({ brokers, table: TABLE, codec: codecs.json<ClickCount>(), autoReconnect: true, logger, storagePath: process.env['PARTITA_EXAMPLE_STORAGE'] });
const done = view.run({ signal: controller.signal });

const server = createServer((req, res) => {
  const user = decodeURIComponent((req.url ?? '/').slice(1));
  view.get(user).then(
    (row) => {
      res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(row ?? { error: `no clicks of '${user}'` }));
    },
    (err: Error) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: err.message }));
    },
  );
});
server.listen(Number(process.env['PORT'] ?? 9095), '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  console.log(`view server on http://127.0.0.1:${addr.port}/ (view ${view.state})`);
});
await view.ready();
console.log('view ready');
await done;
server.close();
console.log('view server stopped');
