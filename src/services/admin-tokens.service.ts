import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/types.js';
import type { Secret } from '../config/index.js';
import type { Database } from '../db/types.js';
import { commit } from './commit.js';
import { isUuid } from '../repositories/ids.js';
import { findTokenById, insertToken, touchTokenLastUsed } from '../repositories/tokens.repository.js';
import { findWorkspaceById } from '../repositories/workspaces.repository.js';
import { AdminAuthError } from './admin-errors.js';

// Admin JWTs the bridge signs itself (`codex-scim token create --scope admin --role R`).
//
// Design: HS256 with ADMIN_JWT_SECRET from the environment, and an api_tokens row per token whose
// id is the `jti` and whose token_hash is the SHA-256 of the whole compact JWT. A request passes
// only if BOTH hold: the signature verifies under the key AND the row exists, is an admin token,
// is not revoked and stores exactly this JWT's hash. So
//  - a leaked database (or backup) yields neither the key nor a usable token, as for SCIM tokens;
//  - a leaked key alone mints nothing: a forged JWT's hash matches no row;
//  - `token revoke <id>` works immediately (the row is read on every request).
// A symmetric key fits because the signer (the CLI) and the verifier (the service) are the same
// party sharing one configuration; an asymmetric pair would add key files without a verifier
// that must not be able to sign. Rotating ADMIN_JWT_SECRET invalidates every admin token.

export const ADMIN_ROLES = ['owner', 'codex-admin', 'compliance'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];
export const isAdminRole = (value: unknown): value is AdminRole => (ADMIN_ROLES as readonly unknown[]).includes(value);

/** `iss` of the tokens the bridge signs. */
export const ADMIN_TOKEN_ISSUER = 'codex-scim-bridge';
/** `aud` of admin tokens: never a SCIM audience, so one cannot stand in for the other. */
export const ADMIN_TOKEN_AUDIENCE = 'codex-scim-bridge-admin';
const ALGORITHM = 'HS256';
/** Admin tokens always expire; this is the CLI's default lifetime. */
export const DEFAULT_ADMIN_TOKEN_DAYS = 30;
const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_DESCRIPTION = 200;

/** Who is calling the admin API, once authenticated. */
/** An admin role, or `decision`: a decision token, which may only ask POST /api/v1/decisions. */
/** `user`: a provisioned user's own IdP token without an admin group, for the /me routes only. */
export type CallerRole = AdminRole | 'decision' | 'user';

export interface AdminPrincipal {
  workspaceId: string;
  role: CallerRole;
  /** `token:<id>` for bridge tokens, `oidc:<subject>` for IdP tokens: the audit actor id. */
  subject: string;
  via: 'token' | 'oidc' | 'decision-token';
  /** A human label for the audit trail: the token description or the user's userName. */
  display?: string;
  /** The SCIM user an IdP token speaks for (OIDC only): whom the /me routes describe. */
  userId?: string;
}

/** An operator's mistake when minting a token; the message is shown as is. */
export class AdminTokenError extends Error {
  override name = 'AdminTokenError';
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const keyBytes = (key: Secret): Uint8Array => new TextEncoder().encode(key.reveal());

export interface CreateAdminTokenInput {
  workspaceId: string;
  role: string;
  description?: string;
  expiresAt: Date;
}

/** Mints an admin JWT and records it; the JWT is returned once and only its hash is stored. */
export async function createAdminToken(
  db: Kysely<Database>,
  key: Secret | undefined,
  input: CreateAdminTokenInput,
  actor: AuditActor,
  now: Date = new Date(),
): Promise<{ id: string; token: string; expiresAt: Date }> {
  if (!key) throw new AdminTokenError('ADMIN_JWT_SECRET is not set: admin tokens cannot be signed (see README "Admin API")');
  if (!isAdminRole(input.role)) throw new AdminTokenError(`Unknown admin role ${JSON.stringify(input.role)}; expected one of ${ADMIN_ROLES.join(', ')}`);
  if (!(input.expiresAt.getTime() > now.getTime())) throw new AdminTokenError('The expiry must be in the future');
  const description = input.description?.trim() || null;
  if (description && (description.length > MAX_DESCRIPTION || /[\u0000-\u001f\u007f]/.test(description))) {
    throw new AdminTokenError(`The description must be at most ${MAX_DESCRIPTION} printable characters`);
  }
  if (!isUuid(input.workspaceId)) throw new AdminTokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);

  const id = randomUUID();
  const token = await new SignJWT({ workspace_id: input.workspaceId, role: input.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ADMIN_TOKEN_ISSUER)
    .setAudience(ADMIN_TOKEN_AUDIENCE)
    .setSubject(`token:${id}`)
    .setJti(id)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(input.expiresAt.getTime() / 1000))
    .sign(keyBytes(key));
  await db.transaction().execute(async (trx) => {
    if (!(await findWorkspaceById(trx, input.workspaceId))) throw new AdminTokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);
    await insertToken(trx, {
      id,
      workspace_id: input.workspaceId,
      scope: 'admin',
      role: input.role,
      description,
      token_hash: sha256(token),
      expires_at: input.expiresAt,
    });
    await commit(trx, { workspaceId: input.workspaceId, actor }, [
      {
        type: 'token.created',
        targetType: 'token',
        targetId: id,
        data: { id, scope: 'admin', role: input.role, description, expiresAt: input.expiresAt.toISOString() },
      },
    ]);
  });
  return { id, token, expiresAt: input.expiresAt };
}

/** A jose failure as a 401 whose message says what was wrong, without echoing the token. */
export function describeJoseError(error: unknown): AdminAuthError {
  if (error instanceof joseErrors.JWTExpired) return new AdminAuthError(401, 'The token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const what: Record<string, string> = { aud: 'audience', iss: 'issuer', nbf: 'not-before time', iat: 'issued-at time' };
    return new AdminAuthError(401, `The token's ${what[error.claim] ?? `"${error.claim}" claim`} is not accepted: ${error.reason === 'missing' ? 'missing' : 'wrong value'}`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return new AdminAuthError(401, 'The token is signed with an algorithm this service does not accept');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new AdminAuthError(401, 'The token signature is not valid');
  if (error instanceof joseErrors.JWKSNoMatchingKey) return new AdminAuthError(401, 'The token is signed with a key the issuer does not publish');
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new AdminAuthError(401, "The issuer's signing keys could not be fetched; try again later");
  }
  return new AdminAuthError(401, 'The token is not a valid JWT');
}

/** Verifies a bridge-signed admin JWT and its api_tokens row (see the design note above). */
export async function verifyBridgeAdminToken(
  db: Kysely<Database>,
  key: Secret | undefined,
  jwt: string,
  now: Date = new Date(),
): Promise<AdminPrincipal> {
  if (!key) throw new AdminAuthError(401, 'This service does not accept bridge-signed admin tokens (ADMIN_JWT_SECRET is not set)');
  let payload;
  try {
    ({ payload } = await jwtVerify(jwt, keyBytes(key), {
      algorithms: [ALGORITHM],
      issuer: ADMIN_TOKEN_ISSUER,
      audience: ADMIN_TOKEN_AUDIENCE,
      requiredClaims: ['exp', 'jti', 'sub'],
      currentDate: now,
    }));
  } catch (error) {
    throw describeJoseError(error);
  }
  const { jti, workspace_id: workspaceId, role } = payload;
  if (typeof jti !== 'string' || !isUuid(jti) || typeof workspaceId !== 'string' || !isAdminRole(role)) {
    throw new AdminAuthError(401, 'The token lacks the jti, workspace_id or role claims of an admin token');
  }
  const row = await findTokenById(db, jti);
  const presented = Buffer.from(sha256(jwt), 'hex');
  const stored = row ? Buffer.from(row.token_hash, 'hex') : Buffer.alloc(0);
  if (!row || row.scope !== 'admin' || stored.length !== presented.length || !timingSafeEqual(stored, presented)) {
    throw new AdminAuthError(401, 'The token is not known to this service');
  }
  if (row.revoked_at !== null) throw new AdminAuthError(401, 'The token has been revoked');
  if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) throw new AdminAuthError(401, 'The token has expired');
  // The row is the authority; the claims were signed from it, so they can only agree.
  if (row.workspace_id !== workspaceId || row.role !== role) throw new AdminAuthError(401, 'The token is not known to this service');

  const notBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  if (row.last_used_at === null || row.last_used_at.getTime() < notBefore.getTime()) {
    await touchTokenLastUsed(db, row.id, now, notBefore);
  }
  return { workspaceId, role, subject: `token:${row.id}`, via: 'token', display: row.description ?? undefined };
}
