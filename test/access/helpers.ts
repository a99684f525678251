import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AuditContext } from '../../src/audit/types.js';
import type { Db } from '../../src/db/index.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import type { ScimContext } from '../../src/services/context.js';
import { DEFAULT_WORKSPACE_SCHEMAS } from '../../src/services/scim-schemas.service.js';

// Shared set-up of the access tests: bare workspaces, fast row inserts, contexts for services.

export const ACTOR = { type: 'system' as const, id: 'test' };

export function auditOf(workspaceId: string): AuditContext {
  return { workspaceId, actor: ACTOR };
}

export function scimContext(db: Db, workspaceId: string): ScimContext {
  return { db, workspaceId, baseUrl: 'https://bridge.test/scim/v2', audit: auditOf(workspaceId), maxResults: 1000, maxInlineMembers: 1000, schemas: DEFAULT_WORKSPACE_SCHEMAS };
}

/** A new workspace (seeded by ensureWorkspace) with its access model emptied: no permissions, roles, mappings or settings. */
export async function bareWorkspace(db: Db, name = `ws-${randomUUID()}`): Promise<string> {
  const { workspace } = await ensureWorkspace(db, name);
  await clearAccess(db, workspace.id);
  return workspace.id;
}

export async function clearAccess(db: Db, workspaceId: string): Promise<void> {
  await db.deleteFrom('workspace_access_settings').where('workspace_id', '=', workspaceId).execute();
  await db.deleteFrom('roles').where('workspace_id', '=', workspaceId).execute();
  await db.deleteFrom('permissions').where('workspace_id', '=', workspaceId).execute();
  await db.deleteFrom('user_access').where('workspace_id', '=', workspaceId).execute();
}

/** Inserts users straight into the table (no SCIM, no audit, no user_access row). */
export async function insertUsers(db: Db, workspaceId: string, users: Array<{ id?: string; userName: string; active?: boolean; emails?: string[] }>): Promise<string[]> {
  const rows = users.map((u) => {
    const resource: Record<string, unknown> = { userName: u.userName, active: u.active ?? true };
    if (u.emails) resource.emails = u.emails.map((value, i) => ({ value, primary: i === 0 }));
    return { id: u.id ?? randomUUID(), workspace_id: workspaceId, user_name: u.userName, active: u.active ?? true, resource: JSON.stringify(resource) };
  });
  for (let i = 0; i < rows.length; i += 5000) await db.insertInto('users').values(rows.slice(i, i + 5000)).execute();
  return rows.map((r) => r.id);
}

export async function insertGroup(db: Db, workspaceId: string, displayName: string, opts: { id?: string; externalId?: string | null; members?: string[] } = {}): Promise<string> {
  const id = opts.id ?? randomUUID();
  const resource = { displayName, ...(opts.externalId ? { externalId: opts.externalId } : {}) };
  await db.insertInto('groups').values({ id, workspace_id: workspaceId, display_name: displayName, external_id: opts.externalId ?? null, resource: JSON.stringify(resource) }).execute();
  const members = opts.members ?? [];
  for (let i = 0; i < members.length; i += 5000) {
    await db
      .insertInto('group_members')
      .values(members.slice(i, i + 5000).map((userId) => ({ group_id: id, user_id: userId, workspace_id: workspaceId })))
      .execute();
  }
  return id;
}

export async function snapshotOf(db: Db, workspaceId: string): Promise<Map<string, string[]>> {
  const rows = await db.selectFrom('user_access').select(['user_id', 'granted']).where('workspace_id', '=', workspaceId).execute();
  return new Map(rows.map((r) => [r.user_id, r.granted]));
}

export interface AccessEvent {
  id: string;
  seq: number;
  targetId: string;
  causeId: string | null;
  data: { before: string[]; after: string[]; granted: string[]; revoked: string[]; rolesBefore: string[]; rolesAfter: string[] };
}

/** access.changed events of the workspace after `afterSeq`, in order. */
export async function accessEvents(db: Db, workspaceId: string, afterSeq = 0): Promise<AccessEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .select(['id', 'seq', 'target_id', 'cause_id', 'data'])
    .where('workspace_id', '=', workspaceId)
    .where('event_type', '=', 'access.changed')
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ id: r.id, seq: Number(r.seq), targetId: r.target_id, causeId: r.cause_id, data: r.data as unknown as AccessEvent['data'] }));
}

export async function lastSeq(db: Db, workspaceId: string): Promise<number> {
  const row = await sql<{ seq: number | null }>`select max(seq) as seq from audit_events where workspace_id = ${workspaceId}`.execute(db);
  return Number(row.rows[0]?.seq ?? 0);
}

/** The id of the latest event of a type (optionally for a target). */
export async function latestEvent(db: Db, workspaceId: string, type: string, targetId?: string): Promise<{ id: string; seq: number; data: Record<string, unknown> } | undefined> {
  let query = db.selectFrom('audit_events').select(['id', 'seq', 'data']).where('workspace_id', '=', workspaceId).where('event_type', '=', type);
  if (targetId) query = query.where('target_id', '=', targetId);
  const row = await query.orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return row ? { id: row.id, seq: Number(row.seq), data: row.data } : undefined;
}
