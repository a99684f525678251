import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { httpRequestDuration, registry, scimOperations } from '../metrics.js';
import { bearerToken } from './bearer.js';

// Prometheus text at /metrics: on the service's port for a scraper that presents METRICS_TOKEN,
// and/or on METRICS_PORT (loopback unless METRICS_HOST says otherwise) with no credential. With
// neither set nothing is exported.

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

export default fp<{ config: Config }>(
  async (app, { config }) => {
    app.addHook('onResponse', async (request, reply) => {
      // The route template, never the raw URL: ids in paths would make a series per resource.
      const route = request.routeOptions.url ?? 'unmatched';
      httpRequestDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    const token = config.metricsToken;
    if (!token) return;
    const expected = sha256(token.reveal());
    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
      const presented = bearerToken(request);
      if (!presented || !timingSafeEqual(sha256(presented), expected)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').type('application/problem+json').send({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Authorization: Bearer <METRICS_TOKEN> is required' });
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'metrics' },
);

const SCIM_OPERATIONS: Record<string, [collection: string, item: string]> = {
  GET: ['list', 'get'],
  POST: ['create', 'create'],
  PUT: ['replace', 'replace'],
  PATCH: ['patch', 'patch'],
  DELETE: ['delete', 'delete'],
};

/** One scim_operations_total sample per SCIM response (an onResponse hook of the SCIM scope). */
export async function recordScimOperation(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const [resource = 'unknown', id] = (request.routeOptions.url ?? '').replace(/^\/scim\/v2\/?/, '').split('/');
  const [collection, item] = SCIM_OPERATIONS[request.method] ?? ['other', 'other'];
  const operation = id === '.search' ? 'search' : id ? item : collection;
  const outcome = reply.statusCode < 400 ? 'success' : reply.statusCode < 500 ? 'client_error' : 'server_error';
  scimOperations.inc({ resource: resource || 'unknown', operation, outcome, token_id: request.scim?.audit.actor.id ?? 'unauthenticated' });
}

/** The loopback-only exporter on METRICS_PORT; resolves once it listens, with its close. */
export function startMetricsServer(port: number, host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}
