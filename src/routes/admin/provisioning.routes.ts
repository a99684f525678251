import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { provisioningHealth } from '../../services/provisioning-health.service.js';
import { errors, Nullable } from './schemas.js';
import { Defaulted } from './validator.js';

// Provisioning health: how each SCIM client's requests went (README "Console").

const ProvisioningHealth = Type.Object(
  {
    hours: Type.Integer(),
    tokens: Type.Array(
      Type.Object({
        tokenId: Type.String(),
        description: Nullable(Type.String()),
        requests: Type.Integer(),
        perHour: Type.Array(Type.Object({ hour: Type.String({ format: 'date-time' }), ok: Type.Integer(), failed: Type.Integer(), rateLimited: Type.Integer() })),
      }),
    ),
    errors: Type.Array(Type.Object({ outcome: Type.String({ description: 'The SCIM error type (invalidValue, uniqueness, …) or the status (404, 412, 500, …)' }), requests: Type.Integer() })),
    rateLimited: Type.Integer(),
    recentFailures: Type.Array(
      Type.Object({
        at: Type.String({ format: 'date-time' }),
        tokenId: Type.String(),
        method: Type.String(),
        path: Type.String(),
        status: Type.Integer(),
        scimType: Nullable(Type.String()),
        detail: Type.String(),
        body: Type.Unknown({ description: 'The request body with every value but schemas, op and path replaced by "<redacted>"' }),
      }),
    ),
  },
  { title: 'ProvisioningHealth' },
);

const provisioningRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/provisioning/health',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags: ['Provisioning'],
        summary: 'SCIM requests per client and hour, errors by type, rate-limit rejections and the last failing requests',
        querystring: Type.Object({ hours: Defaulted(Type.Integer({ minimum: 1, maximum: 744, default: 24 })) }),
        response: { 200: ProvisioningHealth, ...errors(400) },
      },
    },
    async (request) => {
      await app.provisioning.flush(); // this instance's latest counts too
      return provisioningHealth(app.db, request.admin.workspaceId, request.query.hours);
    },
  );
};

export default provisioningRoutes;
