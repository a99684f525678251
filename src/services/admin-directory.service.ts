import type { Db, Executor } from '../db/index.js';
import type { UserRow } from '../db/types.js';
import * as read from '../repositories/admin-read.repository.js';
import { findGroupIdsByReference } from '../repositories/groups.repository.js';
import { isUuid } from '../repositories/ids.js';
import { conflict, invalid, notFound } from './admin-errors.js';

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

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
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

/** Cursors are opaque to callers: base64url JSON of the keyset position. */
export function encodeCursor(position: unknown[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): string[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const position: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(position) && position.length === arity && position.every((p) => typeof p === 'string')) return position;
  } catch {
    // fall through
  }
  throw invalid('cursor', 'cursor is not a cursor this API returned');
}

function keyset(cursor: string | undefined): { key: string; id: string } | undefined {
  const position = decodeCursor(cursor, 2);
  if (!position) return undefined;
  const [key, id] = position as [string, string];
  if (!isUuid(id)) throw invalid('cursor', 'cursor is not a cursor this API returned');
  return { key, id };
}

/** Fetches limit + 1 rows so the last page says so without a count. */
function paged<R, T>(rows: R[], limit: number, map: (row: R) => T, position: (row: R) => unknown[]): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), nextCursor: more ? encodeCursor(position(items[items.length - 1]!)) : null };
}

export async function listUsers(
  db: Db,
  workspaceId: string,
  query: { search?: string; active?: boolean; cursor?: string; limit: number },
): Promise<Page<AdminUser>> {
  const rows = await read.searchUsers(db, workspaceId, { search: query.search, active: query.active, after: keyset(query.cursor), limit: query.limit + 1 });
  return paged(rows, query.limit, toAdminUser, (r) => [r.sort_key, r.id]);
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

export async function groupsOfUser(db: Db, workspaceId: string, ref: string): Promise<{ user: AdminUser; groups: AdminGroupRef[] }> {
  const row = await resolveUserRow(db, workspaceId, ref);
  const groups = await read.groupsOfUser(db, workspaceId, row.id);
  return { user: toAdminUser(row), groups: groups.map((g) => ({ id: g.id, displayName: g.display_name, externalId: g.external_id })) };
}

export async function listGroups(db: Db, workspaceId: string, query: { search?: string; cursor?: string; limit: number }): Promise<Page<AdminGroup>> {
  const rows = await read.searchGroups(db, workspaceId, { search: query.search, after: keyset(query.cursor), limit: query.limit + 1 });
  return paged(rows, query.limit, toAdminGroup, (r) => [r.sort_key, r.id]);
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
  const position = decodeCursor(query.cursor, 1);
  if (position && !isUuid(position[0]!)) throw invalid('cursor', 'cursor is not a cursor this API returned');
  const rows = await read.groupMemberPage(db, group.id, position?.[0], query.limit + 1);
  return paged(
    rows,
    query.limit,
    (r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name, active: r.active }),
    (r) => [r.id],
  );
}
