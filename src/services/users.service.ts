import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Transaction } from 'kysely';
import type { NewAuditEvent } from '../audit/types.js';
import type { Database, UserRow } from '../db/types.js';
import { isUniqueViolation } from '../repositories/errors.js';
import { compileListQuery } from '../repositories/list-query-sql.js';
import * as users from '../repositories/users.repository.js';
import { ScimError } from '../scim/errors.js';
import { checkIfMatch } from '../scim/etag.js';
import type { ListQuery } from '../scim/list-query.js';
import { applyUserPatch } from '../scim/patch.js';
import { normalizeUser, type StoredResource } from '../scim/resource.js';
import { commit } from './commit.js';
import type { ScimContext } from './context.js';
import { checkUniqueExtensionValues, reportUnknownAttributes } from './scim-schemas.service.js';
import { changedAttributes, toUserResource, userColumns, type ScimResource } from './user-resource.js';
import { listPage } from './scim-list.js';

// Use-cases of the SCIM Users endpoint. Each write is one transaction with its audit events.

export interface ListResult {
  totalResults: number;
  resources: ScimResource[];
}

async function withGroups(ctx: ScimContext, rows: UserRow[]): Promise<ScimResource[]> {
  const memberships = await users.groupsOfUsers(ctx.db, ctx.workspaceId, rows.map((r) => r.id));
  return rows.map((row) => toUserResource(row, memberships.filter((m) => m.user_id === row.id), ctx.baseUrl));
}

function duplicateUserName(userName: unknown): ScimError {
  return ScimError.of('uniqueness', `userName ${JSON.stringify(userName)} is already taken in this workspace`);
}

/** Audit events for a user's change of state: activation first, so auditors can filter on it. */
function updateEvents(id: string, before: UserRow, after: UserRow): NewAuditEvent[] {
  const changes = changedAttributes(before.resource, after.resource);
  const events: NewAuditEvent[] = [];
  if (before.active !== after.active) {
    events.push({ type: after.active ? 'user.reactivated' : 'user.deactivated', targetType: 'user', targetId: id, data: { userName: after.user_name } });
  }
  delete changes.active;
  if (Object.keys(changes).length > 0) {
    events.push({ type: 'user.updated', targetType: 'user', targetId: id, data: { userName: after.user_name, changes } });
  }
  return events;
}

export async function createUser(ctx: ScimContext, body: unknown): Promise<ScimResource> {
  const resource = normalizeUser(body, { kind: 'create' }, ctx.schemas.user);
  const id = randomUUID();
  const row = await ctx.db.transaction().execute(async (trx) => {
    await checkUniqueExtensionValues(trx, ctx, ctx.schemas.user, resource);
    let inserted: UserRow;
    try {
      inserted = await users.insertUser(trx, { id, workspace_id: ctx.workspaceId, ...userColumns(resource), resource: JSON.stringify(resource) });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateUserName(resource.userName);
      throw error;
    }
    const events: NewAuditEvent[] = [
      { type: 'user.created', targetType: 'user', targetId: id, data: { userName: inserted.user_name, attributes: resource } },
    ];
    await commit(trx, ctx.audit, events);
    return inserted;
  });
  await reportUnknownAttributes(ctx, ctx.schemas.user, undefined, resource);
  return toUserResource(row, [], ctx.baseUrl);
}

export async function getUser(ctx: ScimContext, id: string): Promise<ScimResource> {
  const row = await users.findUser(ctx.db, ctx.workspaceId, id);
  if (!row) throw ScimError.notFound('User', id);
  return (await withGroups(ctx, [row]))[0]!;
}

export async function listUsers(ctx: ScimContext, query: ListQuery): Promise<ListResult> {
  const { where, orderBy } = compileListQuery(ctx.schemas.user, query);
  const { totalResults, rows } = await listPage(
    query,
    where,
    () => users.countUsers(ctx.db, ctx.workspaceId, where),
    (withTotal) => users.pageUsers(ctx.db, ctx.workspaceId, { where, orderBy, offset: query.startIndex - 1, limit: query.count }, withTotal),
  );
  return { totalResults, resources: await withGroups(ctx, rows) };
}

/** Locks the user, applies `change` to its stored resource, writes the result with its events. */
async function modifyUser(
  ctx: ScimContext,
  id: string,
  ifMatch: string | undefined,
  change: (current: UserRow) => Record<string, unknown>,
): Promise<ScimResource> {
  let before: StoredResource | undefined;
  const row = await ctx.db.transaction().execute(async (trx: Transaction<Database>) => {
    const current = await users.lockUser(trx, ctx.workspaceId, id);
    if (!current) throw ScimError.notFound('User', id);
    checkIfMatch(ifMatch, current.version);
    const resource = change(current);
    before = current.resource;
    // Okta PUTs the whole user on every sync: an unchanged resource is no write (jsonb reorders keys).
    if (isDeepStrictEqual(resource, current.resource)) return current;
    await checkUniqueExtensionValues(trx, ctx, ctx.schemas.user, resource, id);
    let updated: UserRow;
    try {
      updated = await users.updateUser(trx, ctx.workspaceId, id, userColumns(resource));
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateUserName(resource.userName);
      throw error;
    }
    const events = updateEvents(id, current, updated);
    await commit(trx, ctx.audit, events);
    return updated;
  });
  if (before !== undefined) await reportUnknownAttributes(ctx, ctx.schemas.user, before, row.resource);
  return (await withGroups(ctx, [row]))[0]!;
}

export async function replaceUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<ScimResource> {
  return modifyUser(ctx, id, ifMatch, (current) =>
    normalizeUser(body, { kind: 'replace', id, current: current.resource }, ctx.schemas.user),
  );
}

export async function patchUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<ScimResource> {
  return modifyUser(ctx, id, ifMatch, (current) => applyUserPatch(current.resource, body, { id, schema: ctx.schemas.user }).resource);
}

export async function deleteUser(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const current = await users.lockUser(trx, ctx.workspaceId, id);
    if (!current) throw ScimError.notFound('User', id);
    checkIfMatch(ifMatch, current.version);
    // Each membership that ends is recorded like any removal, from what the delete returned.
    const groupIds = await users.removeUserFromAllGroups(trx, ctx.workspaceId, id);
    await users.deleteUser(trx, ctx.workspaceId, id);
    const events: NewAuditEvent[] = [
      ...groupIds.map((groupId): NewAuditEvent => ({ type: 'group.member_removed', targetType: 'group', targetId: groupId, data: { userId: id, reason: 'user.deleted' } })),
      { type: 'user.deleted', targetType: 'user', targetId: id, data: { userName: current.user_name } },
    ];
    // The user's row is gone: the recompute records access ending (after = []) and drops its snapshot.
    await commit(trx, ctx.audit, events);
  });
}
