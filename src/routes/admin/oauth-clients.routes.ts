import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as oauth from '../../services/oauth.service.js';
import { DateTime } from './access-schemas.js';
import { errors, Nullable } from './schemas.js';

// OAuth 2.0 clients of the caller's workspace, for owners: a client id and secret that a SCIM
// client trades at POST /oauth/token for short-lived access tokens (README "OAuth 2.0 clients").

const tags = ['Tokens'];

const OAuthClient = Type.Object(
  { id: Type.String({ format: 'uuid', description: 'The client_id' }), description: Nullable(Type.String()), createdAt: DateTime, lastUsedAt: Nullable(DateTime), revokedAt: Nullable(DateTime) },
  { title: 'OAuthClient' },
);
const CreatedClient = Type.Object(
  { clientId: Type.String({ format: 'uuid' }), clientSecret: Type.String({ description: 'Shown only in this response' }), tokenEndpoint: Type.String() },
  { title: 'CreatedOAuthClient' },
);

const oauthClientsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/oauth-clients',
    { config: { adminAccess: 'owner' }, schema: { tags, summary: "The workspace's OAuth clients (never a secret)", response: { 200: Type.Array(OAuthClient), ...errors() } } },
    async (request) => oauth.listOAuthClients(app.db, request.admin.workspaceId),
  );

  app.post(
    '/oauth-clients',
    {
      config: { adminAccess: 'owner' },
      schema: {
        tags,
        summary: 'Create an OAuth client (client credentials grant) for a SCIM client',
        body: Type.Object({ description: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
        response: { 201: CreatedClient, ...errors(400) },
      },
    },
    async (request, reply) => {
      const created = await oauth.createOAuthClient(app.db, { workspaceId: request.admin.workspaceId, description: request.body.description }, adminAudit(request).actor);
      return reply.code(201).header('cache-control', 'no-store').send({ ...created, tokenEndpoint: '/oauth/token' });
    },
  );

  app.delete(
    '/oauth-clients/:id',
    {
      config: { adminAccess: 'owner' },
      schema: { tags, summary: 'Revoke an OAuth client; its access tokens stop working at once', params: Type.Object({ id: Type.String({ maxLength: 100 }) }), response: { 204: Type.Null({ description: 'Revoked' }), ...errors(404) } },
    },
    async (request, reply) => {
      await oauth.revokeOAuthClient(app.db, request.params.id, adminAudit(request).actor, request.admin.workspaceId);
      return reply.code(204).send(null);
    },
  );
};

export default oauthClientsRoutes;
