import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fresh from 'fresh';
import { myAccess } from '../../services/me.service.js';
import { reviewerOf } from '../../services/review-campaigns.service.js';
import { userPolicy } from '../../services/effective-policy.service.js';
import { EffectivePermissions } from './access-schemas.js';
import { UserPolicy } from './policies.routes.js';
import { errors } from './schemas.js';

// What applies to the caller, for Codex clients and the people using them: called with the end
// user's own IdP token (adminAccess 'self'), never with an admin's view of someone else.

const tags = ['Me'];
const self = { adminAccess: 'self' as const };

/**
 * Clients poll: they may reuse the document for a minute, then must ask again, and a 304 to their
 * If-None-Match is a few hundred bytes. `private`: it is one person's, no shared cache keeps it.
 */
const POLL_CACHE_CONTROL = 'private, max-age=60, must-revalidate';
/** The ETag when no policy applies, so "still none" is a 304 too. */
const NO_POLICY_ETAG = '"none"';

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/session',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: 'Who the caller is to this API: their admin role and workspace',
        description: 'What the console asks after sign-in, to show what the role may do (compliance reads; owner and codex-admin also edit).',
        response: {
          200: Type.Object(
            {
              role: Type.Union([Type.Literal('owner'), Type.Literal('codex-admin'), Type.Literal('compliance')]),
              workspaceId: Type.String(),
              via: Type.Union([Type.Literal('token'), Type.Literal('oidc')]),
              display: Type.Union([Type.String(), Type.Null()]),
              principal: Type.String({ description: 'Who the caller is to a review campaign: user:<SCIM user id> or token:<admin token id>' }),
            },
            { title: 'Session' },
          ),
          ...errors(),
        },
      },
    },
    async (request) => {
      const { role, workspaceId, via, display } = request.admin;
      return {
        role: role as 'owner' | 'codex-admin' | 'compliance',
        workspaceId,
        via: via === 'oidc' ? ('oidc' as const) : ('token' as const),
        display: display ?? null,
        principal: reviewerOf(request.admin).principal,
      };
    },
  );

  app.get(
    '/me/requirements.toml',
    {
      config: self,
      schema: {
        tags,
        summary: 'The requirements.toml that applies to me now',
        description:
          'Exactly the TOML text of the managed policy Codex must enforce for the caller (the first policy rule naming one of their groups, else the fallback). ' +
          'The ETag is the SHA-256 of the document: send it back as If-None-Match and get 304 while it is unchanged. 204 when no policy applies. ' +
          '403 for a deactivated user or one not provisioned to this service, telling them to contact their administrator.',
        response: {
          200: { description: 'The TOML text', content: { 'application/toml': { schema: Type.String() } } },
          204: { description: 'No managed policy applies to the caller', type: 'null' },
          304: { description: 'Unchanged since the ETag sent as If-None-Match', type: 'null' },
          ...errors(),
        },
      },
    },
    async (request, reply) => {
      const view = await userPolicy(app.db, request.admin.workspaceId, request.admin.userId!);
      const etag = view.policy ? `"sha256:${view.policy.sha256}"` : NO_POLICY_ETAG;
      reply.header('etag', etag).header('cache-control', POLL_CACHE_CONTROL).header('vary', 'Authorization');
      if (fresh(request.headers, { etag })) return reply.code(304).send(null);
      if (view.policy === null || view.toml === null) return reply.code(204).send(null);
      reply.header('x-policy-id', view.policy.id).header('x-policy-version', String(view.policy.version));
      return reply.type('application/toml; charset=utf-8').send(view.toml);
    },
  );

  app.get(
    '/me/access',
    {
      config: self,
      schema: {
        tags,
        summary: 'My effective permissions and policy, and why',
        description: 'The same explanations an admin sees for the caller: every permission with what decided it, and which policy applies and why, from one snapshot.',
        response: { 200: Type.Object({ access: EffectivePermissions, policy: UserPolicy }, { title: 'MyAccess' }), ...errors() },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'private, no-store');
      return myAccess(app.db, request.admin.workspaceId, request.admin.userId!);
    },
  );
};

export default meRoutes;
