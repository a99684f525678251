import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Config, OidcConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { UserRow } from '../db/types.js';
import { userGroupNamesAmong, usersByExternalId, usersByUserNameOrEmail } from '../repositories/admin-read.repository.js';
import { findWorkspaceByName } from '../repositories/workspaces.repository.js';
import { AdminAuthError } from './admin-errors.js';
import { ADMIN_TOKEN_ISSUER, describeJoseError, verifyBridgeAdminToken, type AdminPrincipal, type AdminRole } from './admin-tokens.service.js';

// Authentication of admin API callers: a JWT, either signed by the bridge (admin-tokens.service)
// or by the company's OpenID Connect issuer. The unverified `iss` only chooses which verifier
// runs; each verifier then checks signature, issuer, audience and expiry itself.

/** Only asymmetric algorithms for IdP tokens: an HMAC "signed" with a public key must not pass. */
const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_SECONDS = 30;
/** Codex's own advice to a user it denies, so end users read the same thing from the bridge. */
const CONTACT_ADMIN = 'Contact your administrator for access.';

export interface AdminAuthenticator {
  authenticate(db: Db, jwt: string): Promise<AdminPrincipal>;
}

export function createAdminAuthenticator(config: Pick<Config, 'adminJwtSecret' | 'oidc'>): AdminAuthenticator {
  const oidc = config.oidc ? createOidcVerifier(config.oidc) : undefined;
  return {
    async authenticate(db, jwt) {
      let issuer: unknown;
      try {
        // Structure first: a token that is not a JWS compact JWT never reaches a verifier.
        if (decodeProtectedHeader(jwt).alg === 'none') throw new AdminAuthError(401, 'Unsigned tokens (alg "none") are not accepted');
        issuer = decodeJwt(jwt).iss;
      } catch (error) {
        if (error instanceof AdminAuthError) throw error;
        throw new AdminAuthError(401, 'The bearer token is not a JWT');
      }
      if (issuer === ADMIN_TOKEN_ISSUER) return verifyBridgeAdminToken(db, config.adminJwtSecret, jwt);
      if (oidc && issuer === config.oidc?.issuer) return oidc(db, jwt);
      throw new AdminAuthError(401, "The token's issuer is not accepted by this service");
    },
  };
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The provisioned user an IdP token speaks for: its subject claim against externalId, else its
 * email claim against userName or emails. An unverified email (email_verified: false) is not used.
 */
async function matchUser(db: Db, workspaceId: string, config: OidcConfig, payload: JWTPayload): Promise<UserRow> {
  const subject = stringClaim(payload, config.subjectClaim);
  if (subject !== undefined) {
    const matches = await usersByExternalId(db, workspaceId, subject);
    if (matches.length > 1) throw new AdminAuthError(403, `Several provisioned users have externalId ${JSON.stringify(subject)}; refusing to guess`);
    if (matches[0]) return matches[0];
  }
  const email = payload.email_verified === false ? undefined : stringClaim(payload, config.emailClaim);
  if (email !== undefined) {
    const matches = await usersByUserNameOrEmail(db, workspaceId, email);
    if (matches.length > 1) throw new AdminAuthError(403, `Several provisioned users have the email ${JSON.stringify(email)}; refusing to guess`);
    if (matches[0]) return matches[0];
  }
  throw new AdminAuthError(403, `The token is valid but names no user provisioned to this service over SCIM. ${CONTACT_ADMIN}`);
}

function createOidcVerifier(config: OidcConfig): (db: Db, jwt: string) => Promise<AdminPrincipal> {
  // One key set per app: jose caches the keys and refetches (rate-limited) on an unknown `kid`.
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  // Highest role first: a member of several admin groups gets the most capable role.
  const grants: Array<[AdminRole, string[]]> = [
    ['owner', config.ownerGroups.map((g) => g.toLowerCase())],
    ['codex-admin', config.codexAdminGroups.map((g) => g.toLowerCase())],
    ['compliance', config.complianceGroups.map((g) => g.toLowerCase())],
  ];
  const allGroups = [...new Set(grants.flatMap(([, names]) => names))];

  return async (db, jwt) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, {
        algorithms: OIDC_ALGORITHMS,
        issuer: config.issuer,
        audience: [...config.audiences],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      throw describeJoseError(error);
    }
    const workspace = await findWorkspaceByName(db, config.workspace);
    // A configuration mistake, not the caller's: a 500 that the log explains.
    if (!workspace) throw new Error(`OIDC_WORKSPACE ${JSON.stringify(config.workspace)} names no workspace`);
    const user = await matchUser(db, workspace.id, config, payload);
    if (!user.active) throw new AdminAuthError(403, `The user ${user.user_name} is deactivated. ${CONTACT_ADMIN}`);
    const held = new Set(await userGroupNamesAmong(db, workspace.id, user.id, allGroups));
    // A provisioned user in no admin group is still someone: they may call the /me routes.
    const role = grants.find(([, names]) => names.some((n) => held.has(n)))?.[0] ?? 'user';
    return { workspaceId: workspace.id, role, subject: `oidc:${payload.sub ?? user.id}`, via: 'oidc', display: user.user_name, userId: user.id };
  };
}
