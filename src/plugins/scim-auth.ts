import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { bearerToken } from './bearer.js';
import { logActor } from './request-actor.js';
import { ScimError } from '../scim/errors.js';
import type { ScimContext } from '../services/context.js';
import { createSchemaCache } from '../services/scim-schemas.service.js';
import { authenticateAccessToken, looksLikeJwt, oauthSigner } from '../services/oauth.service.js';
import { createAuthCache } from '../services/auth-cache.js';
import { authenticateScimToken, type AuthenticatedScimToken } from '../services/tokens.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the SCIM scope's onRequest hook once the bearer token is verified. */
    scim: ScimContext;
  }
}

function baseUrl(config: Config, request: FastifyRequest, prefix: string): string {
  return `${config.publicUrl ?? `${request.protocol}://${request.host}`}${prefix}`;
}

/**
 * Authenticates SCIM clients by their workspace-bound bearer token (an onRequest hook on the SCIM
 * scope). Missing, unknown, revoked and expired tokens all get the same 401; a verified token is
 * remembered for a second (auth-cache.ts), so a revocation elsewhere takes effect within that.
 */
export function installScimAuth(app: FastifyInstance, config: Config, prefix: string): void {
  app.decorateRequest('scim', null as unknown as ScimContext);
  const schemaCache = createSchemaCache();
  // Short-lived OAuth access tokens (JWTs) are accepted beside long-lived secrets when enabled.
  const signer = config.oauth ? oauthSigner(config.oauth) : undefined;
  const tokens = createAuthCache<AuthenticatedScimToken>();
  app.addHook('onRequest', async (request) => {
    const secret = bearerToken(request);
    if (!secret) throw ScimError.status(401, 'Authorization: Bearer <token> is required');
    const token = await tokens.get(secret, () => (signer && looksLikeJwt(secret) ? authenticateAccessToken(app.db, signer, secret) : authenticateScimToken(app.db, secret)));
    if (!token) throw ScimError.status(401, 'The bearer token is not valid for this service (unknown, revoked or expired)');
    logActor(request, `scim-token:${token.tokenId}`);
    request.scim = {
      db: app.db,
      workspaceId: token.workspaceId,
      baseUrl: baseUrl(config, request, prefix),
      audit: { workspaceId: token.workspaceId, actor: { type: 'scim', id: token.tokenId }, requestId: request.id },
      maxResults: config.maxResults,
      maxInlineMembers: config.maxInlineMembers,
      log: request.log,
      schemas: await schemaCache.get(app.db, token.workspaceId, token.schemaVersion, token.unknownAttributes),
    };
  });
}
