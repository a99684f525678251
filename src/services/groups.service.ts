import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Transaction } from 'kysely';
import type { NewAuditEvent } from '../audit/types.js';
import type { Database, GroupRow } from '../db/types.js';
import { compileListQuery } from '../repositories/list-query-sql.js';
import { isForeignKeyViolation, isUniqueViolation } from '../repositories/errors.js';
import * as groups from '../repositories/groups.repository.js';
import { ScimError } from '../scim/errors.js';
import { checkIfMatch } from '../scim/etag.js';
import type { ListQuery } from '../scim/list-query.js';
import { planGroupPatch, type MemberOp } from '../scim/patch.js';
import { normalizeGroup, type StoredResource } from '../scim/resource.js';
import { commit } from './commit.js';
import type { ScimContext } from './context.js';
import { checkUniqueExtensionValues, reportUnknownAttributes } from './scim-schemas.service.js';
import { changedAttributes } from './user-resource.js';
import { listPage } from './scim-list.js';

// Use-cases of the SCIM Groups endpoint. A group's row lock serialises every change to its
// members; membership statements are set-based and cost what the request names, not the group's
// size. Each membership change is one audit event, written in the same transaction.

type Trx = Transaction<Database>;

interface MembershipDelta {
  added: string[];
  removed: string[];
}

function duplicateDisplayName(displayName: unknown): ScimError {
  return ScimError.of('uniqueness', `A group named ${JSON.stringify(displayName)} already exists in this workspace`);
}

function groupColumns(resource: Record<string, unknown>): groups.GroupColumns {
  return {
    display_name: String(resource.displayName),
    external_id: typeof resource.externalId === 'string' ? resource.externalId : null,
    resource,
  };
}

/** Members must be users of this workspace: anything else is a 400 and nothing is written. */
async function requireUsers(trx: Trx, ctx: ScimContext, userIds: readonly string[]): Promise<void> {
  const missing = await groups.missingUserIds(trx, ctx.workspaceId, userIds);
  if (missing.length > 0) {
    throw ScimError.of('invalidValue', `members must be users of this workspace; unknown: ${missing.map((id) => JSON.stringify(id)).join(', ')}`);
  }
}

async function applyMemberOp(trx: Trx, ctx: ScimContext, groupId: string, op: MemberOp, delta: MembershipDelta): Promise<void> {
  switch (op.op) {
    case 'add':
      await requireUsers(trx, ctx, op.userIds);
      delta.added.push(...(await groups.addMembers(trx, ctx.workspaceId, groupId, op.userIds)));
      return;
    case 'remove':
      delta.removed.push(...(await groups.removeMembers(trx, groupId, op.userIds)));
      return;
    case 'removeAll':
      delta.removed.push(...(await groups.removeAllMembers(trx, groupId)));
      return;
    case 'replace':
      await requireUsers(trx, ctx, op.userIds);
      delta.removed.push(...(await groups.removeMembersExcept(trx, groupId, op.userIds)));
      delta.added.push(...(await groups.addMembers(trx, ctx.workspaceId, groupId, op.userIds)));
      return;
  }
}

function memberEvents(groupId: string, delta: MembershipDelta): NewAuditEvent[] {
  return [
    ...delta.added.map((userId): NewAuditEvent => ({ type: 'group.member_added', targetType: 'group', targetId: groupId, data: { userId } })),
    ...delta.removed.map((userId): NewAuditEvent => ({ type: 'group.member_removed', targetType: 'group', targetId: groupId, data: { userId } })),
  ];
}

function attributeEvents(groupId: string, before: Record<string, unknown>, after: Record<string, unknown>): NewAuditEvent[] {
  const changes = changedAttributes(before, after);
  const events: NewAuditEvent[] = [];
  if (changes.displayName) {
    events.push({ type: 'group.renamed', targetType: 'group', targetId: groupId, data: { from: changes.displayName.from, to: changes.displayName.to } });
    delete changes.displayName;
  }
  if (Object.keys(changes).length > 0) events.push({ type: 'group.updated', targetType: 'group', targetId: groupId, data: { changes } });
  return events;
}

/** Runs a write; a member deleted concurrently surfaces as a foreign-key error, reported as such. */
async function write<T>(ctx: ScimContext, displayName: () => unknown, work: (trx: Trx) => Promise<T>): Promise<T> {
  try {
    return await ctx.db.transaction().execute(work);
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicateDisplayName(displayName());
    if (isForeignKeyViolation(error)) throw ScimError.of('invalidValue', 'a member was deleted while the request ran; retry');
    throw error;
  }
}

export async function createGroup(ctx: ScimContext, body: unknown): Promise<GroupRow> {
  const { resource, memberIds } = normalizeGroup(body, { kind: 'create' }, ctx.schemas.group);
  const id = randomUUID();
  const created = await write(ctx, () => resource.displayName, async (trx) => {
    await checkUniqueExtensionValues(trx, ctx, ctx.schemas.group, resource);
    const row = await groups.insertGroup(trx, { id, workspace_id: ctx.workspaceId, ...groupColumns(resource), resource: JSON.stringify(resource) });
    const delta: MembershipDelta = { added: [], removed: [] };
    await applyMemberOp(trx, ctx, id, { op: 'add', userIds: memberIds }, delta);
    const events: NewAuditEvent[] = [
      { type: 'group.created', targetType: 'group', targetId: id, data: { displayName: row.display_name, externalId: row.external_id } },
      ...memberEvents(id, delta),
    ];
    await commit(trx, ctx.audit, events);
    return row;
  });
  await reportUnknownAttributes(ctx, ctx.schemas.group, undefined, resource);
  return created;
}

export async function getGroup(ctx: ScimContext, id: string): Promise<GroupRow> {
  const row = await groups.findGroup(ctx.db, ctx.workspaceId, id);
  if (!row) throw ScimError.notFound('Group', id);
  return row;
}

export async function listGroups(ctx: ScimContext, query: ListQuery): Promise<{ totalResults: number; rows: GroupRow[] }> {
  const { where, orderBy } = compileListQuery(ctx.schemas.group, query);
  return listPage(
    query,
    where,
    () => groups.countGroups(ctx.db, ctx.workspaceId, where),
    (withTotal) => groups.pageGroups(ctx.db, ctx.workspaceId, { where, orderBy, offset: query.startIndex - 1, limit: query.count }, withTotal),
  );
}

/**
 * Locks the group, lets `plan` compute new attributes and member operations, applies them in
 * order and records what actually changed. Returns the group as it now stands.
 */
async function modifyGroup(
  ctx: ScimContext,
  id: string,
  ifMatch: string | undefined,
  plan: (current: GroupRow) => { resource: Record<string, unknown>; memberOps: MemberOp[] },
): Promise<GroupRow> {
  let displayName: unknown;
  let before: StoredResource | undefined;
  const row = await write(ctx, () => displayName, async (trx) => {
    const current = await groups.lockGroup(trx, ctx.workspaceId, id);
    if (!current) throw ScimError.notFound('Group', id);
    checkIfMatch(ifMatch, current.version);
    const { resource, memberOps } = plan(current);
    displayName = resource.displayName;
    before = current.resource;
    const delta: MembershipDelta = { added: [], removed: [] };
    for (const op of memberOps) await applyMemberOp(trx, ctx, id, op, delta);
    const events = [...attributeEvents(id, current.resource, resource), ...memberEvents(id, delta)];
    if (events.length === 0) return current;
    const attributesChanged = !isDeepStrictEqual(resource, current.resource);
    if (attributesChanged) await checkUniqueExtensionValues(trx, ctx, ctx.schemas.group, resource, id);
    const updated = await groups.touchGroup(trx, ctx.workspaceId, id, attributesChanged ? groupColumns(resource) : undefined);
    await commit(trx, ctx.audit, events);
    return updated;
  });
  if (before !== undefined) await reportUnknownAttributes(ctx, ctx.schemas.group, before, row.resource);
  return row;
}

export async function replaceGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<GroupRow> {
  return modifyGroup(ctx, id, ifMatch, (current) => {
    const { resource, memberIds } = normalizeGroup(body, { kind: 'replace', id, current: current.resource }, ctx.schemas.group);
    // RFC 7644 §3.5.1: PUT replaces the whole group, members included; only the difference is written.
    return { resource, memberOps: [{ op: 'replace', userIds: memberIds }] };
  });
}

export async function patchGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<GroupRow> {
  return modifyGroup(ctx, id, ifMatch, (current) => planGroupPatch(current.resource, body, { id, schema: ctx.schemas.group }));
}

export async function deleteGroup(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const current = await groups.lockGroup(trx, ctx.workspaceId, id);
    if (!current) throw ScimError.notFound('Group', id);
    checkIfMatch(ifMatch, current.version);
    const removed = await groups.removeAllMembers(trx, id);
    await groups.deleteGroup(trx, ctx.workspaceId, id);
    const events: NewAuditEvent[] = [
      ...memberEvents(id, { added: [], removed }),
      { type: 'group.deleted', targetType: 'group', targetId: id, data: { displayName: current.display_name, externalId: current.external_id } },
    ];
    await commit(trx, ctx.audit, events);
  });
}

/** Whether a PATCH response may carry the member list inline (see README "Large groups"). */
export async function isSmallGroup(ctx: ScimContext, id: string): Promise<boolean> {
  return !(await groups.hasMoreMembersThan(ctx.db, id, ctx.maxInlineMembers));
}
