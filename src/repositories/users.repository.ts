import { sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../db/index.js';
import type { NewUserRow, UserRow } from '../db/types.js';
import { isUuid } from './ids.js';

// All Kysely code for the users aggregate. Every query is scoped by workspace_id.

export interface UserColumns {
  user_name: string;
  external_id: string | null;
  active: boolean;
  resource: Record<string, unknown>;
}

export interface PageRequest {
  where?: Expression<SqlBool>;
  orderBy?: { expression: Expression<unknown>; direction: 'asc' | 'desc' };
  offset: number;
  limit: number;
}

/** A row of a page that also carries the filter's total (`count(*) over ()`), see pagedWithTotal. */
export type WithTotal<R> = R & { total_results?: number };

/** `count(*) over ()`: every matching row, counted in the statement that reads the page. */
export const totalOverSql = sql<number>`count(*) over ()`;

export async function insertUser(db: Executor, row: NewUserRow): Promise<UserRow> {
  return db.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findUser(db: Executor, workspaceId: string, id: string): Promise<UserRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('users').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

/** Reads and row-locks a user for a read-modify-write in the caller's transaction. */
export async function lockUser(db: Executor, workspaceId: string, id: string): Promise<UserRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('users')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateUser(db: Executor, workspaceId: string, id: string, columns: UserColumns): Promise<UserRow> {
  return db
    .updateTable('users')
    .set({
      ...columns,
      resource: JSON.stringify(columns.resource),
      version: (eb) => eb('version', '+', 1),
      updated_at: new Date(),
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Ends every membership of the user; returns the groups it was in. The events of a user's deletion
 * are built from what this statement deleted, not from a read before it: a member removal that
 * commits first deletes the row itself, this statement then skips it, and the membership ends
 * with exactly one event.
 */
export async function removeUserFromAllGroups(db: Executor, workspaceId: string, userId: string): Promise<string[]> {
  const rows = await db.deleteFrom('group_members').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).returning('group_id').execute();
  return rows.map((r) => r.group_id);
}

export async function deleteUser(db: Executor, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('users').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function countUsers(db: Executor, workspaceId: string, where?: Expression<SqlBool>): Promise<number> {
  let query = db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('count')).where('workspace_id', '=', workspaceId);
  if (where) query = query.where(where);
  const { count } = await query.executeTakeFirstOrThrow();
  return Number(count);
}

export async function pageUsers(db: Executor, workspaceId: string, page: PageRequest, withTotal = false): Promise<WithTotal<UserRow>[]> {
  let query = db.selectFrom('users').selectAll().$if(withTotal, (q) => q.select(totalOverSql.as('total_results'))).where('workspace_id', '=', workspaceId);
  if (page.where) query = query.where(page.where);
  if (page.orderBy) query = query.orderBy(page.orderBy.expression, page.orderBy.direction);
  // created_at then id: a stable order, so paging with startIndex never skips or repeats a user.
  return query.orderBy('created_at').orderBy('id').offset(page.offset).limit(page.limit).execute();
}

export interface UserGroupRow {
  user_id: string;
  group_id: string;
  display_name: string;
}

/** The groups of each given user, for the derived `groups` attribute (one query per page). */
export async function groupsOfUsers(db: Executor, workspaceId: string, userIds: string[]): Promise<UserGroupRow[]> {
  if (userIds.length === 0) return [];
  return db
    .selectFrom('group_members as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .select(['m.user_id', 'g.id as group_id', 'g.display_name'])
    .where('m.workspace_id', '=', workspaceId)
    .where('m.user_id', 'in', userIds)
    .orderBy('g.display_name')
    .execute();
}

