import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { decide } from '../../services/decisions.service.js';
import { effectivePermissions, effectivePermissionsBatch } from '../../services/effective-access.service.js';
import { BatchRequest, BatchResponse, DecisionRequest, DecisionResponse, EffectivePermissions } from './access-schemas.js';
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

  app.post(
    '/decisions',
    {
      config: { adminAccess: 'decide' },
      schema: {
        tags: ['Decisions'],
        summary: 'May these users do these things? Allow or deny per pair, with the reason',
        description:
          'For machines that enforce access (a gateway, a Codex deployment): up to 1000 users by id, userName, externalId or email, and the permissions to decide ' +
          '(default: all). One decision per pair, from one snapshot, with what decided it — the role and how the user has it (group and mapping, direct, default role), ' +
          'the baseline, or the user being deactivated. A user no ref names, or an email several users share, is denied with decidedBy unknown_user / ambiguous_user. ' +
          'Callable with a decision token (`codex-scim token create --scope decision`, or POST /tokens with scope decision), which can call nothing else.',
        body: DecisionRequest,
        response: { 200: DecisionResponse, ...errors(400) },
      },
      // A batch answers up to 1,000 users × every permission (megabytes): JSON.stringify writes it
      // about four times faster than the schema-compiled serializer, and the service returns
      // exactly the schema's fields (its types are the schema's), so nothing extra leaks.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => decide(app.db, request.admin.workspaceId, request.body),
  );
};

export default effectiveAccessRoutes;
