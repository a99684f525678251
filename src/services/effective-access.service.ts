import type { Transaction } from 'kysely';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../access/errors.js';
import type { ResolutionStrategy } from '../access/model.js';
import { diffGranted, explain, type PermissionExplanation, type ResolvedRole } from '../access/resolve.js';
import { checkLimit, checkPermissionKey } from '../access/validate.js';
import type { AuditContext, NewAuditEvent } from '../audit/types.js';
import type { Executor } from '../db/index.js';
import type { Database } from '../db/types.js';
import { findPermission, loadAccessModel, mappingsReferTo } from '../repositories/access.repository.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import {
  countHolders,
  findUsersByRef,
  holdersPage,
  loadUserAccessFacts,
  recomputeAccess,
  type AccessScope,
  type HolderRow,
  type UserSummary,
} from '../repositories/effective-access.repository.js';
import { isUuid } from '../repositories/ids.js';

// Effective access: keeping user_access right in the transaction of every change that can alter
// it (with one access.changed event per user whose permissions changed), and reading it.

export type { AccessScope };

/** The event an access change is attributed to: one for all users, or per user. */
export type AccessCause = string | ((userId: string) => string);

export interface AccessChange {
  userId: string;
  before: string[];
  after: string[];
  granted: string[];
  revoked: string[];
  eventId: string;
}

/**
 * Recomputes the effective access of the users in `scope` set-based in SQL, updates user_access
 * where it differs, and appends one `access.changed` event per user whose granted permissions
 * changed (`causeId` = the event of the change, which the caller has already appended — that
 * append also holds the workspace's chain-head lock, which serialises recomputes). Users whose
 * access did not change get no event.
 */
export async function recomputeEffectiveAccess(trx: Transaction<Database>, audit: AuditContext, scope: AccessScope, cause: AccessCause): Promise<AccessChange[]> {
  const rows = await recomputeAccess(trx, audit.workspaceId, scope);
  if (rows.length === 0) return [];
  const causeOf = typeof cause === 'string' ? () => cause : cause;
  const events = rows.map((r): NewAuditEvent => {
    const { granted, revoked } = diffGranted(r.before, r.after);
    return { type: 'access.changed', targetType: 'user', targetId: r.userId, causeId: causeOf(r.userId), data: { before: r.before, after: r.after, granted, revoked } };
  });
  const ids = await appendAuditEvents(trx, audit, events);
  return rows.map((r, i) => ({ ...r, granted: events[i]!.data!.granted as string[], revoked: events[i]!.data!.revoked as string[], eventId: ids[i]! }));
}

const USER_ACCESS_EVENTS = new Set(['user.created', 'user.deactivated', 'user.reactivated', 'user.deleted']);

/**
 * After a SCIM user write appended `events` (ids as appendAuditEvents returned them): a created,
 * deactivated, reactivated or deleted user's access is recomputed, caused by that event. Other
 * attribute changes (names, emails) cannot change access and cost nothing.
 */
export async function recomputeAfterUserWrite(
  trx: Transaction<Database>,
  audit: AuditContext,
  userId: string,
  events: readonly NewAuditEvent[],
  eventIds: readonly string[],
): Promise<AccessChange[]> {
  const index = events.findIndex((e) => USER_ACCESS_EVENTS.has(e.type));
  if (index < 0) return [];
  return recomputeEffectiveAccess(trx, audit, { userIds: [userId] }, eventIds[index]!);
}

export interface GroupIdentity {
  display_name: string;
  external_id: string | null;
}

export interface GroupWrite {
  groupId: string;
  /** The group's name and externalId before and after the write; undefined when created / deleted. */
  before?: GroupIdentity;
  after?: GroupIdentity;
  /** The events the write appended, and their ids as appendAuditEvents returned them. */
  events: readonly NewAuditEvent[];
  eventIds: readonly string[];
}

/**
 * After a SCIM group write: the users it added or removed are recomputed, each caused by their
 * own member event; and when the group's displayName or externalId changed and a mapping names
 * the group by the old or new one, every member is recomputed too, caused by the group.renamed
 * (or group.updated) event — a rename in the IdP never changes access without an audit trail.
 * A group no mapping names (by any of its names, before or after) changes nobody's access: the
 * check costs one indexed query, and it runs after the write's audit append, under the chain-head
 * lock that admin writes take before computing theirs, so a concurrent new mapping is not missed.
 */
export async function recomputeAfterGroupWrite(trx: Transaction<Database>, audit: AuditContext, write: GroupWrite): Promise<AccessChange[]> {
  const memberCause = new Map<string, string>();
  let renameCause: string | undefined;
  let updateCause: string | undefined;
  write.events.forEach((event, i) => {
    const id = write.eventIds[i]!;
    const userId = event.data?.userId;
    if ((event.type === 'group.member_added' || event.type === 'group.member_removed') && typeof userId === 'string') memberCause.set(userId, id);
    else if (event.type === 'group.renamed') renameCause ??= id;
    else if (event.type === 'group.updated') updateCause ??= id;
  });
  const attributeCause = renameCause ?? updateCause;
  const identities = [write.before, write.after].filter((g): g is GroupIdentity => g !== undefined);
  const names = {
    externalIds: identities.map((g) => g.external_id).filter((v): v is string => v !== null),
    displayNames: identities.map((g) => g.display_name),
  };

  const groupIds: string[] = [];
  const { before, after } = write;
  if (before && after && attributeCause && (before.display_name !== after.display_name || before.external_id !== after.external_id)) {
    if (await mappingsReferTo(trx, audit.workspaceId, names)) groupIds.push(write.groupId);
  }
  if (groupIds.length === 0) {
    if (memberCause.size === 0 || !(await mappingsReferTo(trx, audit.workspaceId, { groupIds: [write.groupId], ...names }))) return [];
  }
  const fallback = attributeCause ?? write.eventIds[0]!;
  return recomputeEffectiveAccess(trx, audit, { userIds: [...memberCause.keys()], groupIds }, (userId) => memberCause.get(userId) ?? fallback);
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface GroupView {
  id: string;
  displayName: string;
  externalId: string | null;
  /** Ids of the mappings that match the group now. */
  mappingIds: string[];
}

export interface EffectiveAccess {
  user: UserSummary;
  strategy: ResolutionStrategy;
  /** True when the user has no role of their own and the default role applies. */
  usedDefaultRole: boolean;
  /** The user's roles and, for each, why the user has it (direct, which group via which mapping, default). */
  roles: ResolvedRole[];
  groups: GroupView[];
  /** Every permission of the catalogue: value, what decided it, and why in words. */
  permissions: PermissionExplanation[];
  /** Keys with value true, sorted. */
  granted: string[];
  /** The stored user_access row: what holders and the audit trail see (equal to `granted`). */
  snapshot: { granted: string[]; updatedAt: Date } | null;
}

export const MAX_BATCH = 1000;

/** A consistent read: one transaction (repeatable read) unless the caller is already in one. */
async function consistentRead<T>(db: Executor, work: (db: Executor) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db);
  return (db as Exclude<Executor, Transaction<Database>>).transaction().setIsolationLevel('repeatable read').execute((trx) => work(trx));
}

async function explainUsers(db: Executor, workspaceId: string, userIds: readonly string[]): Promise<EffectiveAccess[]> {
  const [model, facts] = await Promise.all([loadAccessModel(db, workspaceId), loadUserAccessFacts(db, workspaceId, userIds)]);
  return facts.map(({ user, facts, snapshot }): EffectiveAccess => {
    const e = explain(model, facts);
    return {
      user,
      strategy: e.strategy,
      usedDefaultRole: e.usedDefaultRole,
      roles: e.roles,
      groups: facts.groups.map((g) => ({ id: g.id, displayName: g.displayName, externalId: g.externalId, mappingIds: [...(g.matchedMappingIds ?? [])] })),
      permissions: e.permissions,
      granted: e.granted,
      snapshot: snapshot ? { granted: snapshot.granted, updatedAt: snapshot.updatedAt } : null,
    };
  });
}

/**
 * One user's effective permissions with the reasons. `userRef` is the user's id, userName or an
 * email address (case-insensitive). AccessNotFoundError('user') when none matches,
 * AccessConflictError when an email names several users.
 */
export async function effectivePermissions(db: Executor, workspaceId: string, userRef: string): Promise<EffectiveAccess> {
  if (typeof userRef !== 'string' || userRef.trim() === '') throw new AccessValidationError('user', 'must be a user id, userName or email');
  return consistentRead(db, async (db) => {
    const ids = await findUsersByRef(db, workspaceId, userRef);
    if (ids.length === 0) throw new AccessNotFoundError('user', userRef);
    if (ids.length > 1) throw new AccessConflictError(`${JSON.stringify(userRef)} names ${ids.length} users (an email several users share); use a user id or userName`, 'user');
    const [result] = await explainUsers(db, workspaceId, ids);
    if (!result) throw new AccessNotFoundError('user', userRef);
    return result;
  });
}

/**
 * Many users at once (ids, at most MAX_BATCH): a fixed number of queries whatever their number.
 * Results keep the order of `userIds`; ids that name no user of the workspace are listed apart.
 */
export async function effectivePermissionsBatch(db: Executor, workspaceId: string, userIds: readonly string[]): Promise<{ results: EffectiveAccess[]; notFound: string[] }> {
  if (!Array.isArray(userIds)) throw new AccessValidationError('userIds', 'must be an array of user ids');
  if (userIds.length > MAX_BATCH) throw new AccessValidationError('userIds', `at most ${MAX_BATCH} users per request`);
  userIds.forEach((id, i) => {
    if (typeof id !== 'string' || !isUuid(id)) throw new AccessValidationError(`userIds[${i}]`, 'must be a user id (a uuid)');
  });
  const results = await consistentRead(db, (db) => explainUsers(db, workspaceId, userIds));
  const found = new Set(results.map((r) => r.user.id));
  return { results, notFound: [...new Set(userIds.map((id) => id.toLowerCase()))].filter((id) => !found.has(id)) };
}

export interface HoldersPage {
  permission: string;
  holders: HolderRow[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Only when asked for (one more index scan). */
  total?: number;
}

export const DEFAULT_HOLDERS_PAGE = 100;
export const MAX_HOLDERS_PAGE = 1000;

/** Every user who holds `key`, a keyset page at a time, from the user_access snapshot. */
export async function permissionHolders(
  db: Executor,
  workspaceId: string,
  key: string,
  options: { cursor?: string | null; limit?: number; includeTotal?: boolean } = {},
): Promise<HoldersPage> {
  checkPermissionKey(key, 'key');
  const limit = checkLimit(options.limit, DEFAULT_HOLDERS_PAGE, MAX_HOLDERS_PAGE);
  const cursor = options.cursor ?? undefined;
  if (cursor !== undefined && !isUuid(cursor)) throw new AccessValidationError('cursor', 'is not a cursor this endpoint returned');
  return consistentRead(db, async (db) => {
    if (!(await findPermission(db, workspaceId, key))) throw new AccessNotFoundError('permission', key);
    const rows = await holdersPage(db, workspaceId, key, cursor?.toLowerCase(), limit + 1);
    const holders = rows.slice(0, limit);
    const page: HoldersPage = { permission: key, holders, nextCursor: rows.length > limit ? holders[holders.length - 1]!.id : null };
    if (options.includeTotal) page.total = await countHolders(db, workspaceId, key);
    return page;
  });
}
