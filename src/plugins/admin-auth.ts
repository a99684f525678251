import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditContext } from '../audit/types.js';
import type { Config } from '../config/index.js';
import { bearerToken } from './bearer.js';
import { logActor } from './request-actor.js';
import { AdminAuthError } from '../services/admin-errors.js';
import { createAdminAuthenticator } from '../services/admin-auth.service.js';
import { createAuthCache } from '../services/auth-cache.js';
import type { AdminPrincipal, CallerRole } from '../services/admin-tokens.service.js';
import { authenticateToken, DECISION_TOKEN_PREFIX, type AuthenticatedScimToken } from '../services/tokens.service.js';

/**
 * What a route of the admin API requires. `read`: any admin role (owner, codex-admin, compliance);
 * `manage`: changes to roles, permissions, mappings, direct roles, the default role (owner,
 * codex-admin); `audit`: the audit trail (owner, compliance — as in Codex, the Security/Compliance
 * admin reads it and a Codex Admin does not); `owner`: workspace settings (owner only); `decide`:
 * access decisions (any admin role, and decision tokens, which may call nothing else); `self`:
 * what applies to the caller (/me), for any active provisioned user signed in with their own IdP
 * token, admin or not; `review`: a review campaign's own routes (any admin role; the campaign
 * decides who may act: its named reviewers, and owners and compliance admins who run reviews).
 */
export type AdminAccess = 'read' | 'manage' | 'audit' | 'owner' | 'decide' | 'self' | 'review';

export const ROLES_FOR: Readonly<Record<AdminAccess, readonly CallerRole[]>> = {
  read: ['owner', 'codex-admin', 'compliance'],
  manage: ['owner', 'codex-admin'],
  audit: ['owner', 'compliance'],
  owner: ['owner'],
  decide: ['owner', 'codex-admin', 'compliance', 'decision'],
  self: ['owner', 'codex-admin', 'compliance', 'user'],
  review: ['owner', 'codex-admin', 'compliance'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every admin route; a route without it is refused at start-up. */
    adminAccess?: AdminAccess;
  }
  interface FastifyRequest {
    /** Set by the admin scope's onRequest hook once the JWT is verified. */
    admin: AdminPrincipal;
  }
}

/** The audit context of an admin request: the caller's subject as actor (AuditContext contract). */
export function adminAudit(request: FastifyRequest): AuditContext {
  const { admin } = request;
  return {
    workspaceId: admin.workspaceId,
    actor: { type: 'admin', id: admin.subject, ...(admin.display ? { display: admin.display } : {}) },
    requestId: request.id,
  };
}

/**
 * Authenticates admin callers (an onRequest hook on the admin scope) and enforces each route's
 * declared access. 401 when the credentials are missing or not valid, 403 when they are valid but
 * the role does not allow the route. The token is never logged (app.ts redacts the header).
 */
export function installAdminAuth(app: FastifyInstance, config: Config): void {
  const authenticator = createAdminAuthenticator(config);
  app.decorateRequest('admin', null as unknown as AdminPrincipal);

  // Fail closed: every route says who may call it, or the app does not start.
  app.addHook('onRoute', (route) => {
    const access = route.config?.adminAccess;
    if (!access) throw new Error(`Admin route ${String(route.method)} ${route.url} declares no config.adminAccess`);
    if (route.schema && !route.schema.hide) {
      route.schema.security ??= [access === 'self' ? { userBearer: [] } : { adminBearer: [] }];
      const note =
        access === 'self'
          ? 'Any active provisioned user, with their own IdP token.'
          : access === 'review'
            ? `Roles: ${ROLES_FOR[access].join(', ')}; the campaign's named reviewers, and owners and compliance admins.`
            : `Roles: ${ROLES_FOR[access].join(', ')}.`;
      // GET routes share their schema object with the HEAD route Fastify adds: note it once.
      if (!route.schema.description?.endsWith(note)) {
        route.schema.description = route.schema.description ? `${route.schema.description}\n\n${note}` : note;
      }
    }
  });

  const decisionTokens = createAuthCache<AuthenticatedScimToken>();
  const decider = async (secret: string): Promise<AdminPrincipal> => {
    const token = await decisionTokens.get(secret, () => authenticateToken(app.db, secret, 'decision'));
    if (!token) throw new AdminAuthError(401, 'The decision token is not valid for this service (unknown, revoked or expired)');
    return { workspaceId: token.workspaceId, role: 'decision', subject: `token:${token.tokenId}`, via: 'decision-token' };
  };

  app.addHook('onRequest', async (request) => {
    const secret = bearerToken(request);
    if (!secret) throw new AdminAuthError(401, 'Authorization: Bearer <admin JWT> is required');
    request.admin = secret.startsWith(DECISION_TOKEN_PREFIX) ? await decider(secret) : await authenticator.authenticate(app.db, secret);
    logActor(request, `admin:${request.admin.subject}`);
    const access = request.routeOptions.config.adminAccess;
    // Unmatched URLs have no route config; they get the scope's 404 after authentication.
    if (access === 'self' && request.admin.userId === undefined) {
      throw new AdminAuthError(403, `${request.routeOptions.url} describes the caller: it needs the user's own IdP token, not a bridge or decision token`);
    }
    if (access && request.admin.role === 'user' && access !== 'self') {
      throw new AdminAuthError(403, `The user ${request.admin.display} is in none of the IdP groups that grant an admin role`);
    }
    if (access && !ROLES_FOR[access].includes(request.admin.role)) {
      throw new AdminAuthError(403, `The ${request.admin.role} role may not ${request.method} ${request.routeOptions.url}; it requires ${ROLES_FOR[access].join(' or ')}`);
    }
  });
}
