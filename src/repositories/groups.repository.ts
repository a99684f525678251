import { sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../db/index.js';
import type { GroupRow, NewGroupRow } from '../db/types.js';
import { isUuid, uuidArray } from './ids.js';
import { totalOverSql, type PageRequest, type WithTotal } from './users.repository.js';

// All Kysely code for groups and their memberships. Membership statements are set-based and
// touch only the rows they name: one statement per operation, whatever the group's size.
// Id lists travel as one uuid[] parameter. Lookups use `id = ANY($ids)` as an index condition
// (one primary-key probe per id), never a join against unnest(): right after a bulk import the
// planner's statistics still describe a tiny table, and a join it plans as a nested loop over
// the unnested list costs members × ids (a 50,000-member PUT took minutes that way).

export interface GroupColumns {
  display_name: string;
  external_id: string | null;
  resource: Record<string, unknown>;
}

export async function insertGroup(db: Executor, row: NewGroupRow): Promise<GroupRow> {
  return db.insertInto('groups').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * The ids of the groups a reference names, as admins type them: an id, else an externalId
 * (exact: the IdP's identifier), else a displayName (case-insensitive, as its unique index).
 */
export async function findGroupIdsByReference(db: Executor, workspaceId: string, ref: string): Promise<string[]> {
  if (isUuid(ref)) {
    const byId = await findGroup(db, workspaceId, ref.toLowerCase());
    if (byId) return [byId.id];
  }
  const byExternalId = await db.selectFrom('groups').select('id').where('workspace_id', '=', workspaceId).where('external_id', '=', ref).execute();
  if (byExternalId.length > 0) return byExternalId.map((r) => r.id);
  const byName = await db.selectFrom('groups').select('id').where('workspace_id', '=', workspaceId).where(sql`lower(display_name)`, '=', sql`lower(${ref})`).execute();
  return byName.map((r) => r.id);
}

export async function findGroup(db: Executor, workspaceId: string, id: string): Promise<GroupRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('groups').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

/**
 * Reads and row-locks a group. Every write to a group's members happens under this lock, so
 * concurrent PATCHes to one group (from any number of service instances) apply one after the
 * other and each sees the memberships the previous one committed.
 */
export async function lockGroup(db: Executor, workspaceId: string, id: string): Promise<GroupRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('groups').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Bumps version and lastModified, and stores new attributes when given. */
export async function touchGroup(db: Executor, workspaceId: string, id: string, columns?: GroupColumns): Promise<GroupRow> {
  return db
    .updateTable('groups')
    .set({
      ...(columns ? { ...columns, resource: JSON.stringify(columns.resource) } : {}),
      version: (eb) => eb('version', '+', 1),
      updated_at: new Date(),
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteGroup(db: Executor, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('groups').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function countGroups(db: Executor, workspaceId: string, where?: Expression<SqlBool>): Promise<number> {
  let query = db.selectFrom('groups').select((eb) => eb.fn.countAll<number>().as('count')).where('workspace_id', '=', workspaceId);
  if (where) query = query.where(where);
  return Number((await query.executeTakeFirstOrThrow()).count);
}

export async function pageGroups(db: Executor, workspaceId: string, page: PageRequest, withTotal = false): Promise<WithTotal<GroupRow>[]> {
  let query = db.selectFrom('groups').selectAll().$if(withTotal, (q) => q.select(totalOverSql.as('total_results'))).where('workspace_id', '=', workspaceId);
  if (page.where) query = query.where(page.where);
  if (page.orderBy) query = query.orderBy(page.orderBy.expression, page.orderBy.direction);
  return query.orderBy('created_at').orderBy('id').offset(page.offset).limit(page.limit).execute();
}

/** Ids among `ids` that are not users of the workspace (at most `limit`, for the error detail). */
export async function missingUserIds(db: Executor, workspaceId: string, ids: readonly string[], limit = 5): Promise<string[]> {
  const malformed = ids.filter((id) => !isUuid(id));
  if (malformed.length > 0) return malformed.slice(0, limit);
  if (ids.length === 0) return [];
  const found = await sql<{ id: string }>`
    select id from users where workspace_id = ${workspaceId} and id = any(${uuidArray(ids)})`.execute(db);
  const existing = new Set(found.rows.map((r) => r.id));
  return ids.filter((id) => !existing.has(id.toLowerCase())).slice(0, limit);
}

/** Inserts the memberships that do not exist yet; returns the user ids actually added. */
export async function addMembers(db: Executor, workspaceId: string, groupId: string, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const result = await sql<{ user_id: string }>`
    insert into group_members (group_id, user_id, workspace_id)
    select ${groupId}, x.id, ${workspaceId} from unnest(${uuidArray(userIds)}) as x(id)
    on conflict do nothing
    returning user_id`.execute(db);
  return result.rows.map((r) => r.user_id);
}

/** Deletes the named memberships that exist; returns the user ids actually removed. */
export async function removeMembers(db: Executor, groupId: string, userIds: readonly string[]): Promise<string[]> {
  const ids = userIds.filter(isUuid); // an id that cannot exist cannot be removed: a no-op, not an error
  if (ids.length === 0) return [];
  const result = await sql<{ user_id: string }>`
    delete from group_members where group_id = ${groupId} and user_id = any(${uuidArray(ids)})
    returning user_id`.execute(db);
  return result.rows.map((r) => r.user_id);
}

/** Deletes every membership of the group; returns the user ids removed. */
export async function removeAllMembers(db: Executor, groupId: string): Promise<string[]> {
  const rows = await db.deleteFrom('group_members').where('group_id', '=', groupId).returning('user_id').execute();
  return rows.map((r) => r.user_id);
}

/**
 * Deletes every membership except those of `keep` (a PUT's member list); returns the user ids
 * removed. A replacement is about the whole group anyway, so the difference is taken in memory
 * over the current member ids — linear, and independent of the planner's statistics.
 */
export async function removeMembersExcept(db: Executor, groupId: string, keep: readonly string[]): Promise<string[]> {
  const keepSet = new Set(keep.map((id) => id.toLowerCase()));
  const leaving = (await allMemberIds(db, groupId)).filter((id) => !keepSet.has(id));
  return removeMembers(db, groupId, leaving);
}

export interface MemberRow {
  group_id: string;
  user_id: string;
  user_name: string;
  display_name: string | null;
}

/**
 * One page of a group's members in user-id order (keyset pagination), so even a 100,000-member
 * group is read in bounded chunks.
 */
export async function memberPage(db: Executor, groupId: string, afterUserId: string | undefined, limit: number): Promise<MemberRow[]> {
  let query = db
    .selectFrom('group_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.group_id', 'm.user_id', 'u.user_name', sql<string | null>`u.resource->>'displayName'`.as('display_name')])
    .where('m.group_id', '=', groupId)
    .orderBy('m.user_id')
    .limit(limit);
  if (afterUserId) query = query.where('m.user_id', '>', afterUserId);
  return query.execute();
}

/** Whether the group has more than `limit` members, reading at most limit + 1 index entries. */
export async function hasMoreMembersThan(db: Executor, groupId: string, limit: number): Promise<boolean> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from (select 1 from group_members where group_id = ${groupId} limit ${limit + 1}) as bounded`.execute(db);
  return Number(result.rows[0]?.n ?? 0) > limit;
}

/** All member ids of a group (for delete-time audit events, which need one event per member). */
export async function allMemberIds(db: Executor, groupId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).execute();
  return rows.map((r) => r.user_id);
}
