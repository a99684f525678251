import { createPrivateKey, createPublicKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/types.js';
import type { Database } from '../db/types.js';
import { isUuid } from '../repositories/ids.js';
import { findWorkspaceById } from '../repositories/workspaces.repository.js';
import { commit } from './commit.js';
import type { Config, OAuthAlgorithm } from '../config/index.js';
import { hashToken, newSecret, normaliseDescription, TokenError, TokenNotFoundError, type AuthenticatedScimToken } from './tokens.service.js';

// OAuth 2.0 client credentials (RFC 6749 §4.4) for SCIM clients, as WorkOS and Entra's gallery
// offer beside long-lived bearer secrets: a client id and secret bought at POST /oauth/token
// for an access token (a JWT signed with the service's asymmetric key, one hour by default)
// bound to one workspace and the `scim` scope. The SCIM scope accepts it like a bearer token.

export const OAUTH_SCOPE = 'scim';
const ISSUER = 'codex-scim-bridge';
const AUDIENCE = 'codex-scim-bridge:scim';
const SECRET_PREFIX = 'csbo_';
const SECRET_PATTERN = /^csbo_[A-Za-z0-9_-]{43}$/;
const LAST_USED_RESOLUTION_MS = 60_000;

/** RFC 6749 §5.2 error codes; the message is safe to show. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly code: OAuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The key access tokens are signed with, and how long they live. */
export interface OAuthSigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
  alg: OAuthAlgorithm;
  ttlSeconds: number;
}

/** The signer of the configured key (its type and algorithm were checked by loadConfig). */
export function oauthSigner(oauth: NonNullable<Config['oauth']>): OAuthSigner {
  const privateKey = createPrivateKey(oauth.signingKey.reveal());
  return { privateKey, publicKey: createPublicKey(privateKey), alg: oauth.alg, ttlSeconds: oauth.tokenTtlSeconds };
}

export interface OAuthClientMetadata {
  id: string;
  description: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Creates a client of a workspace; its secret is returned once and only its hash is kept. */
export async function createOAuthClient(
  db: Kysely<Database>,
  input: { workspaceId: string; description?: string },
  actor: AuditActor,
): Promise<{ clientId: string; clientSecret: string }> {
  const description = normaliseDescription(input.description);
  if (!isUuid(input.workspaceId)) throw new TokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);
  const clientId = randomUUID();
  const clientSecret = newSecret(SECRET_PREFIX);
  await db.transaction().execute(async (trx) => {
    if (!(await findWorkspaceById(trx, input.workspaceId))) throw new TokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);
    await trx.insertInto('oauth_clients').values({ id: clientId, workspace_id: input.workspaceId, description, secret_hash: hashToken(clientSecret) }).execute();
    await commit(trx, { workspaceId: input.workspaceId, actor }, [
      { type: 'oauth_client.created', targetType: 'token', targetId: clientId, data: { id: clientId, description } },
    ]);
  });
  return { clientId, clientSecret };
}

export async function listOAuthClients(db: Kysely<Database>, workspaceId: string): Promise<OAuthClientMetadata[]> {
  return db
    .selectFrom('oauth_clients')
    .select(['id', 'description', 'created_at as createdAt', 'last_used_at as lastUsedAt', 'revoked_at as revokedAt'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Revokes a client: its secret buys nothing more and its access tokens stop working at once. */
export async function revokeOAuthClient(db: Kysely<Database>, id: string, actor: AuditActor, workspaceId?: string): Promise<{ alreadyRevoked: boolean }> {
  if (!isUuid(id)) throw new TokenNotFoundError(id);
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('oauth_clients').select(['workspace_id', 'revoked_at', 'description']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row || (workspaceId !== undefined && row.workspace_id !== workspaceId)) throw new TokenNotFoundError(id);
    if (row.revoked_at !== null) return { alreadyRevoked: true };
    await trx.updateTable('oauth_clients').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    await commit(trx, { workspaceId: row.workspace_id, actor }, [
      { type: 'oauth_client.revoked', targetType: 'token', targetId: id, data: { id, description: row.description } },
    ]);
    return { alreadyRevoked: false };
  });
}

export interface TokenRequest {
  grantType?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** RFC 6749 §4.4.2–4.4.3: a client's id and secret for an access token. */
export async function issueAccessToken(db: Kysely<Database>, signer: OAuthSigner, request: TokenRequest, now: Date = new Date()): Promise<TokenResponse> {
  if (!request.grantType) throw new OAuthError('invalid_request', 'grant_type is required');
  if (request.grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
  if (!request.clientId || !request.clientSecret) throw new OAuthError('invalid_client', 'Client authentication is required (HTTP Basic, or client_id and client_secret in the body)');
  const scopes = (request.scope ?? OAUTH_SCOPE).split(' ').filter((s) => s !== '');
  if (scopes.some((s) => s !== OAUTH_SCOPE)) throw new OAuthError('invalid_scope', `The only scope is ${OAUTH_SCOPE}`);
  const refused = new OAuthError('invalid_client', 'Unknown client, wrong secret, or a revoked client');
  if (!isUuid(request.clientId) || !SECRET_PATTERN.test(request.clientSecret)) throw refused;
  const client = await db.selectFrom('oauth_clients').select(['id', 'workspace_id', 'secret_hash', 'revoked_at', 'last_used_at']).where('id', '=', request.clientId).executeTakeFirst();
  const presented = Buffer.from(hashToken(request.clientSecret), 'hex');
  if (!client || client.revoked_at !== null || !timingSafeEqual(Buffer.from(client.secret_hash, 'hex'), presented)) throw refused;
  if (client.last_used_at === null || client.last_used_at.getTime() < now.getTime() - LAST_USED_RESOLUTION_MS) {
    await db.updateTable('oauth_clients').set({ last_used_at: now }).where('id', '=', client.id).execute();
  }
  const issuedAt = Math.floor(now.getTime() / 1000);
  const accessToken = await new SignJWT({ workspace_id: client.workspace_id, scope: OAUTH_SCOPE })
    .setProtectedHeader({ alg: signer.alg, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(client.id)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + signer.ttlSeconds)
    .sign(signer.privateKey);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: signer.ttlSeconds, scope: OAUTH_SCOPE };
}

/** True when a bearer credential has the shape of a JWT rather than a long-lived secret. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

/**
 * The SCIM context of an access token this service issued, or undefined when it is not one
 * (bad signature, expired, wrong audience or scope) or its client has been revoked since.
 */
export async function authenticateAccessToken(db: Kysely<Database>, signer: OAuthSigner, jwt: string): Promise<AuthenticatedScimToken | undefined> {
  let payload;
  try {
    ({ payload } = await jwtVerify(jwt, signer.publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: [signer.alg], typ: 'at+jwt' }));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) return undefined;
    throw error;
  }
  if (payload.scope !== OAUTH_SCOPE || typeof payload.sub !== 'string' || !isUuid(payload.sub)) return undefined;
  const client = await db
    .selectFrom('oauth_clients as c')
    .innerJoin('workspaces as w', 'w.id', 'c.workspace_id')
    .select(['c.id', 'c.workspace_id', 'c.revoked_at', 'w.scim_schema_version', 'w.scim_unknown_attributes'])
    .where('c.id', '=', payload.sub)
    .executeTakeFirst();
  if (!client || client.revoked_at !== null || client.workspace_id !== payload.workspace_id) return undefined;
  return {
    tokenId: client.id,
    workspaceId: client.workspace_id,
    schemaVersion: client.scim_schema_version,
    unknownAttributes: client.scim_unknown_attributes,
  };
}
