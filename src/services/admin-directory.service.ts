import type { Db, Executor } from '../db/index.js';
import type { UserRow } from '../db/types.js';
import * as read from '../repositories/admin-read.repository.js';
import { findGroupIdsByReference } from '../repositories/groups.repository.js';
import { isUuid } from '../repositories/ids.js';
import { conflict, notFound } from './admin-errors.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';

// The admin API's read-only view of SCIM users and groups: plain JSON rather than SCIM resources,
// looked up by id, userName or email, paged by opaque keyset cursors.

export interface AdminUserEmail {
  value: string;
  type?: string;
  primary?: boolean;
}

export interface AdminUser {
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  emails: AdminUserEmail[];
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface AdminGroupRef {
  id: string;
  displayName: string;
  externalId: string | null;
}

export interface AdminGroup extends AdminGroupRef {
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface AdminMember {
  id: string;
  userName: string;
  displayName: string | null;
  active: boolean;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function toAdminUser(row: UserRow): AdminUser {
  const resource = row.resource;
  const name = (resource.name ?? {}) as Record<string, unknown>;
  const emails = Array.isArray(resource.emails) ? (resource.emails as Array<Record<string, unknown>>) : [];
  return {
    id: row.id,
    userName: row.user_name,
    externalId: row.external_id,
    displayName: str(resource.displayName),
    givenName: str(name.givenName),
    familyName: str(name.familyName),
    emails: emails
      .filter((e) => typeof e?.value === 'string')
      .map((e) => ({
        value: e.value as string,
        ...(typeof e.type === 'string' ? { type: e.type } : {}),
        ...(typeof e.primary === 'boolean' ? { primary: e.primary } : {}),
      })),
    active: row.active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toAdminGroup(row: read.GroupWithCount): AdminGroup {
  return {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    memberCount: Number(row.member_count),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A cursor of the users' or groups' listing: their sort key and id. */
function keyset(cursor: string | undefined): { key: string; id: string } | undefined {
  const position = decodeCursor(cursor, 2, ([key, id]) => typeof key === 'string' && typeof id === 'string' && isUuid(id));
  return position && { key: String(position[0]), id: String(position[1]) };
}

export async function listUsers(
  db: Db,
  workspaceId: string,
  query: { search?: string; active?: boolean; cursor?: string; limit: number },
): Promise<Page<AdminUser>> {
  const rows = await read.searchUsers(db, workspaceId, { search: query.search, active: query.active, after: keyset(query.cursor), limit: rowsToRead(query.limit) });
  const page = keysetPage(rows, query.limit, (r) => [r.sort_key, r.id]);
  return { items: page.rows.map(toAdminUser), nextCursor: page.nextCursor };
}

/** The one user named by id, userName or email; 404 when none, 409 when an email is shared. */
export async function resolveUserRow(db: Db, workspaceId: string, ref: string): Promise<UserRow> {
  const rows = await read.usersByRef(db, workspaceId, ref);
  if (rows.length === 0) throw notFound('user', ref);
  if (rows.length > 1) throw conflict(`Several users have the email ${JSON.stringify(ref)}; name the user by id or userName`);
  return rows[0]!;
}

export async function getUser(db: Db, workspaceId: string, ref: string): Promise<AdminUser> {
  return toAdminUser(await resolveUserRow(db, workspaceId, ref));
}

/** A page of a user's groups by displayName (case-insensitive), then id; the user beside it. */
export async function groupsOfUser(db: Db, workspaceId: string, ref: string, query: { cursor?: string; limit: number }): Promise<Page<AdminGroupRef> & { user: AdminUser }> {
  const after = decodeCursor(query.cursor, 2, ([name, id]) => typeof name === 'string' && typeof id === 'string' && isUuid(id));
  const row = await resolveUserRow(db, workspaceId, ref);
  const page = keysetPage(await read.groupsOfUser(db, workspaceId, row.id, { after, limit: rowsToRead(query.limit) }), query.limit, (g) => [g.sort_key, g.id]);
  return { user: toAdminUser(row), items: page.rows.map((g) => ({ id: g.id, displayName: g.display_name, externalId: g.external_id })), nextCursor: page.nextCursor };
}

export async function listGroups(db: Db, workspaceId: string, query: { search?: string; cursor?: string; limit: number }): Promise<Page<AdminGroup>> {
  const rows = await read.searchGroups(db, workspaceId, { search: query.search, after: keyset(query.cursor), limit: rowsToRead(query.limit) });
  const page = keysetPage(rows, query.limit, (r) => [r.sort_key, r.id]);
  return { items: page.rows.map(toAdminGroup), nextCursor: page.nextCursor };
}

/**
 * The group a reference names (its id, externalId or displayName), as user look-ups accept an id,
 * userName or email. Undefined when none does; 409 when an externalId is shared by several groups.
 */
export async function findGroupByRef(db: Executor, workspaceId: string, ref: string): Promise<string | undefined> {
  const ids = await findGroupIdsByReference(db, workspaceId, ref);
  if (ids.length > 1) throw conflict(`${ids.length} groups match ${JSON.stringify(ref)}; use the group's id`);
  return ids[0];
}

export async function resolveGroupRef(db: Executor, workspaceId: string, ref: string): Promise<string> {
  const id = await findGroupByRef(db, workspaceId, ref);
  if (id === undefined) throw notFound('group', ref);
  return id;
}

export async function getGroup(db: Db, workspaceId: string, ref: string): Promise<AdminGroup> {
  const row = await read.findGroupWithCount(db, workspaceId, await resolveGroupRef(db, workspaceId, ref));
  if (!row) throw notFound('group', ref);
  return toAdminGroup(row);
}

export async function groupMembers(db: Db, workspaceId: string, groupId: string, query: { cursor?: string; limit: number }): Promise<Page<AdminMember>> {
  // Existence only: counting a 100,000-member group for each page would be wasted work.
  const group = { id: await resolveGroupRef(db, workspaceId, groupId) };
  const after = decodeCursor(query.cursor, 1, ([id]) => typeof id === 'string' && isUuid(id))?.[0] as string | undefined;
  const rows = await read.groupMemberPage(db, group.id, after, rowsToRead(query.limit));
  const page = keysetPage(rows, query.limit, (r) => [r.id]);
  return { items: page.rows.map((r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name, active: r.active })), nextCursor: page.nextCursor };
}
