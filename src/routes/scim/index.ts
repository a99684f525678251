import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/index.js';
import { rateLimitRejections } from '../../metrics.js';
import { recordScimOperation } from '../../plugins/metrics.js';
import { installScimAuth } from '../../plugins/scim-auth.js';
import { installScimBodyParsers } from '../../plugins/scim-body.js';
import { installScimErrorHandling, SCIM_CONTENT_TYPE } from '../../plugins/scim-errors.js';
import discoveryRoutes from './discovery.routes.js';
import groupsRoutes from './groups.routes.js';
import usersRoutes from './users.routes.js';
import { recordScimResponse } from '../../plugins/provisioning-health.js';

export const SCIM_PREFIX = '/scim/v2';

/**
 * The SCIM scope: its own content type, error format and bearer-token authentication, none of
 * which leak into the admin API registered beside it.
 */
const scimRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  installScimBodyParsers(app);
  installScimErrorHandling(app);
  installScimAuth(app, config, SCIM_PREFIX);
  if (config.scimRateLimitPerMinute > 0) {
    // Per token, checked after authentication so an unauthenticated flood cannot use a client's budget.
    await app.register(rateLimit, {
      hook: 'preHandler',
      max: config.scimRateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => request.scim?.audit.actor.id ?? request.ip,
      onExceeded: () => rateLimitRejections.inc({ limit: 'scim' }),
    });
  }
  app.addHook('onResponse', recordScimOperation);
  app.addHook('onSend', recordScimResponse);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-type', SCIM_CONTENT_TYPE);
    return payload;
  });

  await app.register(discoveryRoutes, { config });
  await app.register(usersRoutes, { prefix: '/Users' });
  await app.register(groupsRoutes, { prefix: '/Groups' });
};

export default scimRoutes;
