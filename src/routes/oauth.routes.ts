import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { rateLimitRejections } from '../metrics.js';
import { issueAccessToken, OAuthError, oauthSigner, type TokenRequest } from '../services/oauth.service.js';

// POST /oauth/token: the client credentials grant (RFC 6749 §4.4) for SCIM clients. Client
// authentication by HTTP Basic or by client_id/client_secret in the body (§2.3.1), never both;
// form or JSON bodies; errors in the §5.2 format; rate limited per client address, since every
// guess at a secret arrives here.

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function oauthError(reply: FastifyReply, error: OAuthError, basic: boolean): FastifyReply {
  // §5.2: invalid_client is a 401, with the challenge of the scheme the client tried.
  const status = error.code === 'invalid_client' ? 401 : 400;
  if (status === 401) reply.header('www-authenticate', basic ? 'Basic realm="oauth"' : 'Bearer realm="oauth"');
  return reply.code(status).headers(NO_STORE).send({ error: error.code, error_description: error.message });
}

/** §2.3.1: Basic credentials are form-urlencoded before base64. */
function basicCredentials(request: FastifyRequest): { clientId?: string; clientSecret?: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'HTTP Basic credentials must be client_id:client_secret');
  const part = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { clientId: part(decoded.slice(0, colon)), clientSecret: part(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'HTTP Basic credentials are not form-urlencoded');
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const oauthRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const oauth = config.oauth;
  if (!oauth) return;
  const signer = oauthSigner(oauth);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof OAuthError) return oauthError(reply, error, /^Basic /i.test(request.headers.authorization ?? ''));
    if (error.statusCode === 429) return reply.code(429).headers(NO_STORE).send({ error: 'slow_down', error_description: 'Too many token requests; retry after Retry-After' });
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      return oauthError(reply, new OAuthError('invalid_request', 'Send a form-urlencoded or JSON body with grant_type=client_credentials'), false);
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).headers(NO_STORE).send({ error: 'server_error', error_description: 'Internal server error' });
  });
  await app.register(rateLimit, {
    max: oauth.rateLimitPerMinute,
    timeWindow: 60_000,
    onExceeded: () => rateLimitRejections.inc({ limit: 'oauth_token' }),
  });

  app.post('/oauth/token', { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const basic = basicCredentials(request);
    const inBody = body.client_id !== undefined || body.client_secret !== undefined;
    if (basic && inBody) throw new OAuthError('invalid_request', 'Authenticate with HTTP Basic or with client_id/client_secret in the body, not both');
    const tokenRequest: TokenRequest = {
      grantType: str(body.grant_type),
      scope: str(body.scope),
      ...(basic ?? { clientId: str(body.client_id), clientSecret: str(body.client_secret) }),
    };
    const token = await issueAccessToken(app.db, signer, tokenRequest);
    return reply.headers(NO_STORE).send(token);
  });
};

export default oauthRoutes;
