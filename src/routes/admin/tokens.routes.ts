import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as tokens from '../../services/tokens.service.js';
import { DateTime } from './access-schemas.js';
import { errors, Nullable } from './schemas.js';
import { Defaulted } from './validator.js';

// SCIM bearer tokens of the caller's workspace, for owners: create (the secret is shown once),
// list with last use, revoke, and rotate with an overlap in which the old and the new secret both
// work. Through the service, so it works on PGlite while the service runs, where the CLI cannot.

const tags = ['Tokens'];

const TokenMetadata = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    scope: Type.Union([Type.Literal('scim'), Type.Literal('admin'), Type.Literal('decision')]),
    role: Nullable(Type.String()),
    description: Nullable(Type.String()),
    createdAt: DateTime,
    lastUsedAt: Nullable(DateTime),
    expiresAt: Nullable(DateTime),
    revokedAt: Nullable(DateTime),
    replacedBy: Nullable(Type.String({ format: 'uuid', description: 'Set once rotated: the successor' })),
  },
  { title: 'TokenMetadata' },
);
const CreatedToken = Type.Object(
  { id: Type.String({ format: 'uuid' }), token: Type.String({ description: 'The bearer secret; shown only in this response' }), expiresAt: Nullable(DateTime) },
  { title: 'CreatedToken' },
);
const RotatedToken = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The new token' }),
    token: Type.String({ description: 'The new bearer secret; shown only in this response' }),
    replaces: Type.String({ format: 'uuid' }),
    oldExpiresAt: Type.String({ format: 'date-time', description: 'When the old secret stops working' }),
  },
  { title: 'RotatedToken' },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });
const DAY_MS = 24 * 3600 * 1000;
const DEFAULT_OVERLAP_SECONDS = 3600;

const tokensRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/tokens',
    { config: { adminAccess: 'owner' }, schema: { tags, summary: "The workspace's tokens, revoked and expired ones included (never a secret or hash)", response: { 200: Type.Array(TokenMetadata), ...errors() } } },
    async (request) => (await tokens.listTokens(app.db, { workspaceId: request.admin.workspaceId })).map(({ workspaceId: _w, workspaceName: _n, ...rest }) => rest),
  );

  app.post(
    '/tokens',
    {
      config: { adminAccess: 'owner' },
      schema: {
        tags,
        summary: 'Create a SCIM token for an IdP, or a decision token for a machine that asks POST /decisions',
        body: Type.Object(
          {
            scope: Type.Optional(Type.Union([Type.Literal('scim'), Type.Literal('decision')], { description: 'Default scim' })),
            description: Type.Optional(Type.String({ maxLength: 200, description: 'A note for operators, e.g. which IdP uses it' })),
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: tokens.MAX_TOKEN_EXPIRY_DAYS, description: 'Default: never' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedToken, ...errors(400) },
      },
    },
    async (request, reply) => {
      const expiresAt = request.body.expiresInDays ? new Date(Date.now() + request.body.expiresInDays * DAY_MS) : undefined;
      const { id, token } = await tokens.createToken(
        app.db,
        { workspaceId: request.admin.workspaceId, scope: request.body.scope ?? 'scim', description: request.body.description, expiresAt },
        adminAudit(request).actor,
      );
      return reply.code(201).header('cache-control', 'no-store').send({ id, token, expiresAt: expiresAt ?? null });
    },
  );

  app.delete(
    '/tokens/:id',
    { config: { adminAccess: 'owner' }, schema: { tags, summary: 'Revoke a token (again: no change)', params: IdParams, response: { 204: Type.Null({ description: 'Revoked' }), ...errors(404) } } },
    async (request, reply) => {
      await tokens.revokeToken(app.db, request.params.id, adminAudit(request).actor, request.admin.workspaceId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/tokens/:id/rotate',
    {
      config: { adminAccess: 'owner' },
      schema: {
        tags,
        summary: 'Replace a SCIM token; the old secret keeps working for the overlap',
        params: IdParams,
        body: Type.Object(
          { overlapSeconds: Defaulted(Type.Integer({ minimum: 0, maximum: tokens.MAX_ROTATION_OVERLAP_SECONDS, default: DEFAULT_OVERLAP_SECONDS, description: 'How long the old secret still works (0: stops now)' })) },
          { additionalProperties: false },
        ),
        response: { 201: RotatedToken, ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const rotated = await tokens.rotateToken(app.db, { id: request.params.id, overlapSeconds: request.body.overlapSeconds, workspaceId: request.admin.workspaceId }, adminAudit(request).actor);
      return reply.code(201).header('cache-control', 'no-store').send({ ...rotated, oldExpiresAt: rotated.oldExpiresAt.toISOString() });
    },
  );
};

export default tokensRoutes;
