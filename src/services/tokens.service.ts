import type { UnknownAttributePolicy } from '../scim/schemas/index.js';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/types.js';
import type { Database } from '../db/types.js';
import { commit } from './commit.js';
import {
  findTokenByHash,
  findTokenById,
  insertToken,
  listTokenMetadata,
  markTokenRevoked,
  touchTokenLastUsed,
  type TokenMetadata,
} from '../repositories/tokens.repository.js';
import { isUuid } from '../repositories/ids.js';
import { findWorkspaceById } from '../repositories/workspaces.repository.js';

// API tokens: bearer secrets bound to one workspace. A token is shown once at creation; the
// database keeps only its SHA-256, so a leaked database (or backup) yields no usable credential.

export type TokenScope = 'scim' | 'admin' | 'decision';
/** Scopes of the secrets this service mints and stores (admin tokens are JWTs). */
export type SecretScope = 'scim' | 'decision';
export type { TokenMetadata };

/** An operator's mistake (bad input, unknown id): the message is safe and meant to be shown. */
export class TokenError extends Error {
  override name = 'TokenError';
}

export class TokenNotFoundError extends TokenError {
  override name = 'TokenNotFoundError';
  constructor(readonly tokenId: string) {
    super(`No token with id ${JSON.stringify(tokenId)}`);
  }
}

const SECRET_BYTES = 32;
// base64url of 32 bytes is 43 characters without padding.
// csb_: a SCIM token; csd_: a decision token (it may only ask POST /api/v1/decisions).
const PREFIX: Record<SecretScope, string> = { scim: 'csb_', decision: 'csd_' };
const SECRET_BODY = /^[A-Za-z0-9_-]{43}$/;
const MAX_DESCRIPTION = 200;
// last_used_at is informational; writing it on every request would turn each SCIM read into a write.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * SHA-256 hex of the presented secret. The secret is 256 random bits, so it cannot be guessed or
 * brute-forced from its hash; a slow password KDF (bcrypt, scrypt, argon2) protects low-entropy
 * human passwords and would only add latency to every SCIM request here.
 */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** 256 random bits behind a prefix that says what the secret is (csb_: a SCIM token). */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(SECRET_BYTES).toString('base64url');
}

/** A token's or client's operator note: trimmed, bounded, printable; empty means none. */
export function normaliseDescription(description: string | undefined): string | null {
  if (description === undefined) return null;
  const trimmed = description.trim();
  if (trimmed === '') return null;
  if (trimmed.length > MAX_DESCRIPTION) throw new TokenError(`The description is longer than ${MAX_DESCRIPTION} characters`);
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new TokenError('The description must not contain control characters');
  return trimmed;
}

export interface CreateTokenInput {
  workspaceId: string;
  scope: TokenScope;
  /** Admin tokens only. */
  role?: string;
  description?: string;
  expiresAt?: Date;
}

/**
 * Creates a token and returns its secret, which is not stored and cannot be shown again.
 * Only SCIM tokens exist so far: admin tokens (JWTs with a role) arrive with the admin API.
 */
export async function createToken(
  db: Kysely<Database>,
  input: CreateTokenInput,
  actor: AuditActor,
  now: Date = new Date(),
): Promise<{ id: string; token: string }> {
  if (input.scope === 'admin') throw new TokenError('Admin tokens are JWTs: codex-scim token create --scope admin --role …');
  if (input.scope !== 'scim' && input.scope !== 'decision') throw new TokenError(`Unknown token scope ${JSON.stringify(input.scope)}; expected scim or decision`);
  if (input.role !== undefined) throw new TokenError('A role applies only to admin tokens; SCIM and decision tokens have none');
  if (input.expiresAt !== undefined && !(input.expiresAt.getTime() > now.getTime())) {
    throw new TokenError('The expiry must be in the future');
  }
  const description = normaliseDescription(input.description);
  if (!isUuid(input.workspaceId)) throw new TokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);

  const token = newSecret(PREFIX[input.scope]);
  const id = randomUUID();
  await db.transaction().execute(async (trx) => {
    if (!(await findWorkspaceById(trx, input.workspaceId))) {
      throw new TokenError(`No workspace with id ${JSON.stringify(input.workspaceId)}`);
    }
    await insertToken(trx, {
      id,
      workspace_id: input.workspaceId,
      scope: input.scope,
      role: null,
      description,
      token_hash: hashToken(token),
      expires_at: input.expiresAt ?? null,
    });
    await commit(trx, { workspaceId: input.workspaceId, actor }, [
      {
        type: 'token.created',
        targetType: 'token',
        targetId: id,
        // Never the secret or its hash.
        data: { id, scope: input.scope, role: null, description, expiresAt: input.expiresAt?.toISOString() ?? null },
      },
    ]);
  });
  return { id, token };
}

export async function createScimToken(
  db: Kysely<Database>,
  input: { workspaceId: string; description?: string; expiresAt?: Date },
  actor: AuditActor,
): Promise<{ id: string; token: string }> {
  return createToken(db, { ...input, scope: 'scim' }, actor);
}

/** Metadata of every token (or of one workspace's), revoked and expired ones included; never a hash. */
export async function listTokens(db: Kysely<Database>, filter: { workspaceId?: string } = {}): Promise<TokenMetadata[]> {
  if (filter.workspaceId !== undefined && !isUuid(filter.workspaceId)) return [];
  return listTokenMetadata(db, filter);
}

export interface RevokeResult {
  id: string;
  workspaceId: string;
  revokedAt: Date;
  /** True when the token had been revoked before; nothing changed and nothing was audited. */
  alreadyRevoked: boolean;
}

/**
 * Revokes a token; revoking it again is a no-op that reports when it was revoked. `workspaceId`
 * confines it to one workspace (the admin API): a token of another one is not found.
 */
export async function revokeToken(db: Kysely<Database>, id: string, actor: AuditActor, workspaceId?: string): Promise<RevokeResult> {
  // A non-UUID would make PostgreSQL reject the query with a type error; it names no token either way.
  if (!isUuid(id)) throw new TokenNotFoundError(id);
  return db.transaction().execute(async (trx) => {
    if (workspaceId !== undefined && (await findTokenById(trx, id))?.workspace_id !== workspaceId) throw new TokenNotFoundError(id);
    const revoked = await markTokenRevoked(trx, id, new Date());
    if (!revoked) {
      const existing = await trx
        .selectFrom('api_tokens')
        .select(['workspace_id', 'revoked_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!existing) throw new TokenNotFoundError(id);
      return { id, workspaceId: existing.workspace_id, revokedAt: existing.revoked_at!, alreadyRevoked: true };
    }
    await commit(trx, { workspaceId: revoked.workspace_id, actor }, [
      {
        type: 'token.revoked',
        targetType: 'token',
        targetId: id,
        data: { id, scope: revoked.scope, role: revoked.role, description: revoked.description },
      },
    ]);
    return { id, workspaceId: revoked.workspace_id, revokedAt: revoked.revoked_at!, alreadyRevoked: false };
  });
}

/** Longest overlap a rotation allows: old and new secrets both work meanwhile. */
/** The longest a token may be issued for (CLI and API alike). */
export const MAX_TOKEN_EXPIRY_DAYS = 3650;
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600;

export interface RotateResult {
  /** The new token: its secret is shown this once. */
  id: string;
  token: string;
  replaces: string;
  /** When the old token stops working. */
  oldExpiresAt: Date;
}

/**
 * Replaces a live SCIM token with a new one of the same workspace, description and expiry. The old
 * one keeps working for `overlapSeconds` (0: stops now), long enough to paste the new secret into
 * the IdP and see its next push succeed. `workspaceId` confines the rotation to one workspace
 * (the admin API); the CLI rotates any token by id.
 */
export async function rotateToken(
  db: Kysely<Database>,
  input: { id: string; overlapSeconds: number; workspaceId?: string },
  actor: AuditActor,
  now: Date = new Date(),
): Promise<RotateResult> {
  const { id, overlapSeconds } = input;
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_ROTATION_OVERLAP_SECONDS) {
    throw new TokenError(`The overlap must be a whole number of seconds from 0 to ${MAX_ROTATION_OVERLAP_SECONDS}`);
  }
  if (!isUuid(id)) throw new TokenNotFoundError(id);
  return db.transaction().execute(async (trx) => {
    // Locked: two rotations of one token must not both mint a successor.
    const old = await trx.selectFrom('api_tokens').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!old || (input.workspaceId !== undefined && old.workspace_id !== input.workspaceId)) throw new TokenNotFoundError(id);
    if (old.scope !== 'scim' && old.scope !== 'decision') throw new TokenError('Only SCIM and decision tokens are rotated; an admin JWT is replaced by creating another and revoking this one');
    const scope: SecretScope = old.scope;
    if (old.revoked_at !== null || (old.expires_at !== null && old.expires_at.getTime() <= now.getTime())) {
      throw new TokenError('The token is revoked or expired; create a new one instead');
    }
    if (old.replaced_by !== null) throw new TokenError(`The token was rotated already; its successor is ${old.replaced_by}`);
    const overlapEnd = new Date(now.getTime() + overlapSeconds * 1000);
    const oldExpiresAt = old.expires_at !== null && old.expires_at.getTime() < overlapEnd.getTime() ? old.expires_at : overlapEnd;
    const token = newSecret(PREFIX[scope]);
    const newId = randomUUID();
    await insertToken(trx, {
      id: newId,
      workspace_id: old.workspace_id,
      scope,
      role: null,
      description: old.description,
      token_hash: hashToken(token),
      expires_at: old.expires_at,
    });
    await trx.updateTable('api_tokens').set({ expires_at: oldExpiresAt, replaced_by: newId }).where('id', '=', id).execute();
    await commit(trx, { workspaceId: old.workspace_id, actor }, [
      {
        type: 'token.created',
        targetType: 'token',
        targetId: newId,
        data: { id: newId, scope, role: null, description: old.description, expiresAt: old.expires_at?.toISOString() ?? null },
      },
      { type: 'token.rotated', targetType: 'token', targetId: id, data: { id: newId, replaces: id, oldExpiresAt: oldExpiresAt.toISOString() } },
    ]);
    return { id: newId, token, replaces: id, oldExpiresAt };
  });
}

/**
 * The workspace a presented bearer secret of `scope` belongs to, or undefined for anything that is
 * not a live token of that scope (unknown, malformed, revoked, expired, another scope). Callers
 * answer all of these with the same 401 so a client learns nothing about which case it hit.
 */
export async function authenticateToken(
  db: Kysely<Database>,
  presented: string,
  scope: SecretScope,
  options: { now?: Date } = {},
): Promise<AuthenticatedScimToken | undefined> {
  // The format is public; rejecting other strings early also bounds the work per request.
  if (!presented.startsWith(PREFIX[scope]) || !SECRET_BODY.test(presented.slice(PREFIX[scope].length))) return undefined;
  const hash = hashToken(presented);
  // Looking the row up by hash is safe: timing differences in the index lookup reveal at most
  // something about the hash, and SHA-256 preimage resistance keeps that useless for forging a
  // secret. The constant-time comparison below guards against any lookup that matches loosely.
  const row = await findTokenByHash(db, hash);
  if (!row) return undefined;
  const stored = Buffer.from(row.token_hash, 'hex');
  const computed = Buffer.from(hash, 'hex');
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) return undefined;

  const now = options.now ?? new Date();
  if (row.scope !== scope || row.revoked_at !== null) return undefined;
  if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) return undefined;

  const notBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  if (row.last_used_at === null || row.last_used_at.getTime() < notBefore.getTime()) {
    await touchTokenLastUsed(db, row.id, now, notBefore);
  }
  return {
    tokenId: row.id,
    workspaceId: row.workspace_id,
    schemaVersion: row.scim_schema_version,
    unknownAttributes: row.scim_unknown_attributes,
  };
}

export function authenticateScimToken(db: Kysely<Database>, presented: string, options: { now?: Date } = {}): Promise<AuthenticatedScimToken | undefined> {
  return authenticateToken(db, presented, 'scim', options);
}

/** The prefix of a decision token's secret: how the admin API tells one from an admin JWT. */
export const DECISION_TOKEN_PREFIX = PREFIX.decision;

export interface AuthenticatedScimToken {
  tokenId: string;
  workspaceId: string;
  /** The workspace's SCIM schema version and unknown-attribute policy (see scim-schemas.service). */
  schemaVersion: number;
  unknownAttributes: UnknownAttributePolicy;
}
