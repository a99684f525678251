import { sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../db/index.js';
import type { GroupRow, UserRow } from '../db/types.js';
import { isUuid } from './ids.js';

// Read-only queries of the admin API over SCIM users and groups: search, look-up by userName or
// email, and keyset pages. Keyset (not offset) pagination, so reading page 500 of 100,000 users
// costs the same as page 1, and a user created meanwhile never shifts a page.

/** A `%term%` ILIKE pattern with the pattern characters of the term escaped. */
function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The user's emails array, or an empty one when the resource has none (or something else). */
const emailsOf = (alias: string) =>
  sql.raw(`jsonb_array_elements(case when jsonb_typeof(${alias}.resource->'emails') = 'array' then ${alias}.resource->'emails' else '[]'::jsonb end)`);

export interface UserSearch {
  search?: string;
  active?: boolean;
  /** Keyset position: the lower-cased userName and id of the last user of the previous page. */
  after?: { key: string; id: string };
  limit: number;
}

/** Users ordered by lower(userName), id — the order of the unique (workspace_id, lower(user_name)) index. */
export async function searchUsers(db: Executor, workspaceId: string, query: UserSearch): Promise<Array<UserRow & { sort_key: string }>> {
  // The cursor carries PostgreSQL's lower(), not JavaScript's: the two disagree on some scripts.
  let q = db
    .selectFrom('users as u')
    .selectAll('u')
    .select(sql<string>`lower(u.user_name)`.as('sort_key'))
    .where('u.workspace_id', '=', workspaceId);
  if (query.search !== undefined && query.search !== '') {
    const p = containsPattern(query.search);
    q = q.where(
      sql<boolean>`(u.user_name ilike ${p}
        or u.external_id ilike ${p}
        or u.resource->>'displayName' ilike ${p}
        or u.resource#>>'{name,formatted}' ilike ${p}
        or concat_ws(' ', u.resource#>>'{name,givenName}', u.resource#>>'{name,familyName}') ilike ${p}
        or exists (select 1 from ${emailsOf('u')} as e where e->>'value' ilike ${p}))`,
    );
  }
  if (query.active !== undefined) q = q.where('u.active', '=', query.active);
  if (query.after) {
    const { key, id } = query.after;
    q = q.where(sql<boolean>`(lower(u.user_name), u.id) > (${key}, ${id}::uuid)`);
  }
  return q.orderBy(sql`lower(u.user_name)`).orderBy('u.id').limit(query.limit).execute();
}

/** Users whose userName equals `value` case-insensitively or who have it as an email (at most `limit`). */
export async function usersByUserNameOrEmail(db: Executor, workspaceId: string, value: string, limit = 2): Promise<UserRow[]> {
  const byName = await db
    .selectFrom('users')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where(sql<boolean>`lower(user_name) = lower(${value})`)
    .limit(limit)
    .execute();
  if (byName.length > 0) return byName;
  return db
    .selectFrom('users as u')
    .selectAll('u')
    .where('u.workspace_id', '=', workspaceId)
    .where(sql<boolean>`exists (select 1 from ${emailsOf('u')} as e where lower(e->>'value') = lower(${value}))`)
    .orderBy('u.id')
    .limit(limit)
    .execute();
}

export async function usersByExternalId(db: Executor, workspaceId: string, externalId: string, limit = 2): Promise<UserRow[]> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('external_id', '=', externalId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * A user named by id, userName or email, in that order of precedence. Returns up to two rows so
 * the caller can refuse an email that several users share.
 */
export async function usersByRef(db: Executor, workspaceId: string, ref: string): Promise<UserRow[]> {
  if (isUuid(ref)) {
    const byId = await db.selectFrom('users').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', ref).executeTakeFirst();
    if (byId) return [byId];
  }
  return usersByUserNameOrEmail(db, workspaceId, ref);
}

export interface UserGroupRef {
  id: string;
  display_name: string;
  external_id: string | null;
}

/** A page of a user's groups by lower(displayName), then id (keyset [lower(displayName), id]). */
export async function groupsOfUser(db: Executor, workspaceId: string, userId: string, page: { after?: readonly (string | number)[]; limit: number }): Promise<Array<UserGroupRef & { sort_key: string }>> {
  let query = db
    .selectFrom('group_members as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.display_name', 'g.external_id', sql<string>`lower(g.display_name)`.as('sort_key')])
    .where('m.workspace_id', '=', workspaceId)
    .where('m.user_id', '=', userId);
  if (page.after) query = query.where(sql<boolean>`(lower(g.display_name), g.id) > (${String(page.after[0])}, ${String(page.after[1])}::uuid)`);
  return query.orderBy(sql`lower(g.display_name)`).orderBy('g.id').limit(page.limit).execute();
}

export type GroupWithCount = GroupRow & { member_count: number; sort_key: string };

export interface GroupSearch {
  search?: string;
  after?: { key: string; id: string };
  limit: number;
}

const memberCount = sql<number>`(select count(*) from group_members m where m.group_id = g.id)::int`.as('member_count');
const groupSortKey = sql<string>`lower(g.display_name)`.as('sort_key');

/** Groups ordered by lower(displayName), id, each with its member count. */
export async function searchGroups(db: Executor, workspaceId: string, query: GroupSearch): Promise<GroupWithCount[]> {
  let q = db.selectFrom('groups as g').selectAll('g').select([memberCount, groupSortKey]).where('g.workspace_id', '=', workspaceId);
  if (query.search !== undefined && query.search !== '') {
    const p = containsPattern(query.search);
    q = q.where(sql<boolean>`(g.display_name ilike ${p} or g.external_id ilike ${p})`);
  }
  if (query.after) {
    const { key, id } = query.after;
    q = q.where(sql<boolean>`(lower(g.display_name), g.id) > (${key}, ${id}::uuid)`);
  }
  return q.orderBy(sql`lower(g.display_name)`).orderBy('g.id').limit(query.limit).execute();
}

export async function findGroupWithCount(db: Executor, workspaceId: string, id: string): Promise<GroupWithCount | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('groups as g').selectAll('g').select([memberCount, groupSortKey]).where('g.workspace_id', '=', workspaceId).where('g.id', '=', id).executeTakeFirst();
}

export interface GroupMemberRow {
  id: string;
  user_name: string;
  display_name: string | null;
  active: boolean;
}

/** One page of a group's members in user-id order (the primary key's second column). */
export async function groupMemberPage(db: Executor, groupId: string, afterUserId: string | undefined, limit: number): Promise<GroupMemberRow[]> {
  let q = db
    .selectFrom('group_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.user_name', sql<string | null>`u.resource->>'displayName'`.as('display_name'), 'u.active'])
    .where('m.group_id', '=', groupId)
    .orderBy('m.user_id')
    .limit(limit);
  if (afterUserId !== undefined) q = q.where('m.user_id', '>', afterUserId);
  return q.execute();
}

/** Lower-cased display names of the user's groups among `names` (already lower-cased). */
export async function userGroupNamesAmong(db: Executor, workspaceId: string, userId: string, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const where: Expression<SqlBool> = sql<boolean>`lower(g.display_name) in (${sql.join(names.map((n) => sql`${n}`))})`;
  const rows = await db
    .selectFrom('group_members as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .select(sql<string>`lower(g.display_name)`.as('name'))
    .where('m.workspace_id', '=', workspaceId)
    .where('m.user_id', '=', userId)
    .where(where)
    .execute();
  return rows.map((r) => r.name);
}
