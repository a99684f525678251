import { sql } from 'kysely';
import type { FastifyPluginAsync } from 'fastify';

// Liveness says the process answers; readiness says it can reach its database (and, in its
// details, whether audit checkpoints are signed).
const healthRoutes: FastifyPluginAsync = async (app) => {
  const schema = { hide: true } as const;
  app.get('/healthz', { schema, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema, logLevel: 'warn' }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
      return { status: 'ok', details: { auditCheckpoints: app.auditLog.options.signer ? 'signed' : 'unsigned (AUDIT_SIGNING_KEY_FILE not set)' } };
    } catch (error) {
      app.log.error({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', detail: 'database unreachable' });
    }
  });
};

export default healthRoutes;
