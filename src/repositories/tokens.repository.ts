import type { Insertable, Kysely, Transaction } from 'kysely';
import type { ApiToken, ApiTokensTable, Database } from '../db/types.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Token metadata as listed to operators: every column except the hash, plus the workspace name. */
export interface TokenMetadata {
  id: string;
  workspaceId: string;
  workspaceName: string;
  scope: ApiToken['scope'];
  role: string | null;
  description: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** The token that replaced this one when it was rotated. */
  replacedBy: string | null;
}

export async function insertToken(db: Executor, row: Insertable<ApiTokensTable>): Promise<ApiToken> {
  return db.insertInto('api_tokens').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findTokenById(db: Executor, id: string): Promise<ApiToken | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A token with what a SCIM request needs of its workspace, in the one query every request makes. */
export type TokenWithWorkspace = ApiToken & { scim_schema_version: number; scim_unknown_attributes: 'store' | 'reject' };

export async function findTokenByHash(db: Executor, tokenHash: string): Promise<TokenWithWorkspace | undefined> {
  return db
    .selectFrom('api_tokens as t')
    .innerJoin('workspaces as w', 'w.id', 't.workspace_id')
    .selectAll('t')
    .select(['w.scim_schema_version', 'w.scim_unknown_attributes'])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function listTokenMetadata(db: Executor, filter: { workspaceId?: string } = {}): Promise<TokenMetadata[]> {
  let query = db
    .selectFrom('api_tokens as t')
    .innerJoin('workspaces as w', 'w.id', 't.workspace_id')
    .select([
      't.id',
      't.workspace_id as workspaceId',
      'w.name as workspaceName',
      't.scope',
      't.role',
      't.description',
      't.created_at as createdAt',
      't.last_used_at as lastUsedAt',
      't.expires_at as expiresAt',
      't.revoked_at as revokedAt',
      't.replaced_by as replacedBy',
    ])
    .orderBy('w.name')
    .orderBy('t.created_at')
    .orderBy('t.id');
  if (filter.workspaceId !== undefined) query = query.where('t.workspace_id', '=', filter.workspaceId);
  return query.execute();
}

/**
 * Sets revoked_at unless the token is already revoked. Returns the updated row, or undefined when
 * nothing changed (already revoked, or no such id); the condition in the UPDATE makes two
 * concurrent revocations produce exactly one change.
 */
export async function markTokenRevoked(db: Executor, id: string, at: Date): Promise<ApiToken | undefined> {
  return db
    .updateTable('api_tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Records a use unless one was recorded after `notBefore`: at most one write per interval. */
export async function touchTokenLastUsed(db: Executor, id: string, at: Date, notBefore: Date): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: at })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', notBefore)]))
    .execute();
}
