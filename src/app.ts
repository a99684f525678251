import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Config } from './config/index.js';
import type { DbHandle } from './db/index.js';
import auditRetentionPlugin from './plugins/audit-retention.js';
import auditSealerPlugin from './plugins/audit-sealer.js';
import databasePlugin from './plugins/database.js';
import metricsPlugin from './plugins/metrics.js';
import consolePlugin from './console/plugin.js';
import openapiPlugin from './plugins/openapi.js';
import provisioningHealthPlugin from './plugins/provisioning-health.js';
import { buildSerializer } from './plugins/serializers.js';
import webhookWorkerPlugin from './plugins/webhook-worker.js';
import adminRoutes from './routes/admin/index.js';
import healthRoutes from './routes/health.js';
import oauthRoutes from './routes/oauth.routes.js';
import scimRoutes, { SCIM_PREFIX } from './routes/scim/index.js';
import { SCIM_CONTENT_TYPE, toScimError } from './plugins/scim-errors.js';

export interface AppDependencies {
  /** An open, migrated database (tests); otherwise the app opens one from config. */
  database?: DbHandle;
  /** Where the log lines go (tests read them); otherwise stdout. */
  logStream?: { write(line: string): void };
}

/** A hop count trusts that many proxies nearest the server, as proxy-addr counts them. */
function trustedProxies(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust === false ? false : [...trust];
}

/** Builds the whole service; tests and production use this same factory. */
export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const options = {
    logger: {
      level: config.logLevel,
      // Bearer tokens and cookies must never reach the logs.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
      // ISO-8601 times and level names, as log pipelines expect, rather than epoch ms and numbers.
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    bodyLimit: config.bodyLimit,
    schemaController: { compilersFactory: { buildSerializer } },
    // meta.location, request.ip in logs and the protocol come from X-Forwarded-* only when set.
    trustProxy: trustedProxies(config.trustProxy),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Entra encodes spaces in filters as '+'; the query parser decodes them.
    routerOptions: { ignoreTrailingSlash: true },
    // A URL the router cannot decode (`/Users/%E0%A4%A`) never reaches a route's error handler.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      if (request.url.startsWith(SCIM_PREFIX)) {
        const scimError = toScimError(error);
        void reply.code(scimError.status).type(SCIM_CONTENT_TYPE).send(scimError.toBody());
        return;
      }
      void reply.code(400).type('application/problem+json').send({ type: 'about:blank', title: 'Bad Request', status: 400, detail: 'The request URL is not valid' });
    },
  } satisfies FastifyServerOptions;
  // An HTTPS server hands the routes the same request and response classes as an HTTP one; only
  // Fastify's type for the instance differs, hence the cast.
  const app = config.tls
    ? (Fastify({ ...options, https: { cert: config.tls.cert, key: config.tls.key.reveal() } }) as unknown as FastifyInstance)
    : Fastify(options);
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  // Outside the SCIM and admin scopes (which answer in their own formats): RFC 9457 problems,
  // never Fastify's own error JSON, and nothing of an unexpected error leaked.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `No endpoint ${request.method} ${request.url.split('?')[0]}` }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'unhandled error');
    const detail = status >= 500 ? 'Internal server error' : error.message;
    return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail });
  });

  await app.register(metricsPlugin, { config });
  await app.register(databasePlugin, { config, database: deps.database });
  await app.register(auditSealerPlugin, { config });
  await app.register(provisioningHealthPlugin);
  await app.register(openapiPlugin);
  await app.register(healthRoutes);
  await app.register(scimRoutes, { prefix: SCIM_PREFIX, config });
  await app.register(oauthRoutes, { config });
  await app.register(adminRoutes, { prefix: '/api/v1', config });
  await app.register(consolePlugin, { config });
  await app.register(auditRetentionPlugin, { config });
  await app.register(webhookWorkerPlugin, { config });
  return app;
}
