import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { effectivePermissions, effectivePermissionsBatch } from '../../services/effective-access.service.js';
import { BatchRequest, BatchResponse, EffectivePermissions } from './access-schemas.js';
import { errors, UserRef } from './schemas.js';

// "What can user X do, and why": every permission of the catalogue with its value and the roles,
// groups and mappings (or default role, or baseline) that decided it.

const tags = ['Effective access'];

const effectiveAccessRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/users/:user/effective-permissions',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: "A user's effective permissions and why",
        description: 'The user is named by id, userName or email (case-insensitive). 409 when an email names several users.',
        params: Type.Object({ user: UserRef }),
        response: { 200: EffectivePermissions, ...errors(404, 409) },
      },
    },
    async (request) => effectivePermissions(app.db, request.admin.workspaceId, request.params.user),
  );

  // `::` is Fastify's escape for a literal colon: the path is /effective-permissions:batch
  // (Google AIP-136 custom-method style).
  app.post(
    '/effective-permissions::batch',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: 'Effective permissions of many users at once',
        description: 'Up to 1000 user ids; a fixed number of queries whatever their number. Results keep the order of userIds; ids that name no user are listed in notFound.',
        body: BatchRequest,
        response: { 200: BatchResponse, ...errors(400) },
      },
    },
    async (request) => effectivePermissionsBatch(app.db, request.admin.workspaceId, request.body.userIds),
  );
};

export default effectiveAccessRoutes;
