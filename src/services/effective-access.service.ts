import type { Transaction } from 'kysely';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../access/errors.js';
import type { ResolutionStrategy } from '../access/model.js';
import { diffGranted, explain, type Explanation, type PermissionExplanation, type ResolvedRole } from '../access/resolve.js';
import { REVIEW_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type AuditContext, type AuditEventData, type NewAuditEvent } from '../audit/types.js';
import { consistentRead, type Executor } from '../db/index.js';
import type { Database } from '../db/types.js';
import { findPermission, groupNamesOf, groupsMatching, loadAccessModel, mappingsReferTo } from '../repositories/access.repository.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import {
  countHolders,
  findUsersByRef,
  holdersPage,
  loadUserAccessFacts,
  recomputeAccess,
  type AccessChangeRow,
  type AccessScope,
  type HolderRow,
  type UserSummary,
} from '../repositories/effective-access.repository.js';
import { isUuid } from '../repositories/ids.js';
import { cachedAccessModel, rememberAccessModel } from './access-model-cache.js';
import type { CommittedEvent, Projector } from './commit.js';
import { decodeCursor, keysetPage, rowsToRead } from './pagination.js';

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
  rolesBefore: string[];
  rolesAfter: string[];
  eventId: string;
}

/** Whether a change alters the user's permissions (not only which roles grant them). */
export const changesPermissions = (change: AccessChange): boolean => change.granted.length + change.revoked.length > 0;

/** The access.changed event of a recomputed user: permissions and roles before and after, and the permissions' difference. */
export function accessChangedEvent(row: AccessChangeRow, causeId: string): NewAuditEvent & { data: AuditEventData['access.changed'] } {
  const { granted, revoked } = diffGranted(row.before, row.after);
  return {
    type: 'access.changed',
    targetType: 'user',
    targetId: row.userId,
    causeId,
    data: { before: row.before, after: row.after, granted, revoked, rolesBefore: row.rolesBefore, rolesAfter: row.rolesAfter },
  };
}

/**
 * Recomputes the effective access of the users in `scope` set-based in SQL, updates user_access
 * where it differs, and appends one `access.changed` event per user whose granted permissions or
 * roles changed (`causeId` = the event of the change, which the caller has already appended; the
 * commit step's locks serialise recomputes of one user, src/services/commit.ts). Users whose
 * access did not change get no event.
 */
export async function recomputeEffectiveAccess(trx: Transaction<Database>, audit: AuditContext, scope: AccessScope, cause: AccessCause): Promise<AccessChange[]> {
  const rows = await recomputeAccess(trx, audit.workspaceId, scope);
  if (rows.length === 0) return [];
  const causeOf = typeof cause === 'string' ? () => cause : cause;
  const events = rows.map((r) => accessChangedEvent(r, causeOf(r.userId)));
  const ids = await appendAuditEvents(trx, audit, events);
  return events.map((e, i) => ({ ...rows[i]!, granted: e.data.granted, revoked: e.data.revoked, eventId: ids[i]! }));
}

// ---------------------------------------------------------------------------------------------
// The access projector: which users a commit's events can have changed, and why.

/** One recompute: its scope, and the event each user's change is attributed to. */
interface AccessWork {
  scope: AccessScope;
  cause: AccessCause;
}

const WORKSPACE_WIDE = (e: CommittedEvent) =>
  e.type === 'workspace.default_role_changed' ||
  (e.type === 'workspace.settings_changed' && changedFields(e).includes('strategy')) ||
  (e.type === 'permission.created' && e.data?.baseline === true) ||
  (e.type === 'permission.updated' && changedFields(e).includes('baseline')) ||
  e.type === 'permission.deleted';
// Who holds a role is in user_access.role_ids (the default role included, a deleted role still
// listed until recomputed): only they can change when its permissions do.
const ROLE_PERMISSIONS = (e: CommittedEvent) => e.type === 'role.deleted' || (e.type === 'role.updated' && changedFields(e).includes('permissions'));
const MAPPING = (e: CommittedEvent) => e.type === 'mapping.created' || e.type === 'mapping.deleted';
const USER_ACCESS = new Set(['user.created', 'user.deactivated', 'user.reactivated', 'user.deleted', 'user.role_assigned', 'user.role_unassigned']);
const MEMBERSHIP = new Set(['group.member_added', 'group.member_removed']);

function changedFields(e: CommittedEvent): unknown[] {
  return Array.isArray(e.data?.changed) ? e.data.changed : [];
}

function last<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}

/**
 * The names mappings may know a group by, before and after the commit: its current names, and
 * the ones its events in this commit name (a deleted group's, a renamed group's old name).
 */
async function groupNames(trx: Transaction<Database>, workspaceId: string, events: readonly CommittedEvent[], groupId: string) {
  const displayNames = new Set<string>();
  const externalIds = new Set<string>();
  const current = await groupNamesOf(trx, workspaceId, groupId);
  if (current) {
    displayNames.add(current.displayName);
    if (current.externalId !== null) externalIds.add(current.externalId);
  }
  let attributesChanged: CommittedEvent | undefined;
  const add = (set: Set<string>, value: unknown) => typeof value === 'string' && value !== '' && set.add(value);
  for (const e of events) {
    if (e.targetType !== 'group' || e.targetId !== groupId) continue;
    const data = e.data ?? {};
    if (e.type === 'group.created' || e.type === 'group.deleted') {
      add(displayNames, data.displayName);
      add(externalIds, data.externalId);
    } else if (e.type === 'group.renamed') {
      add(displayNames, data.from);
      add(displayNames, data.to);
      attributesChanged ??= e;
    } else if (e.type === 'group.updated') {
      const change = (data.changes as Record<string, { from?: unknown; to?: unknown }> | undefined)?.externalId;
      if (change) {
        add(externalIds, change.from);
        add(externalIds, change.to);
        attributesChanged ??= e;
      }
    }
  }
  return { displayNames: [...displayNames], externalIds: [...externalIds], attributesChanged };
}

/**
 * What to recompute, most decisive first. The recomputes run in this order in one transaction,
 * so a user is attributed to the first one that changes them and later ones find nothing left:
 * a deleted role's holders to role.deleted, not to the mapping.deleted events before it.
 *
 * Everything here runs in the commit step, under its locks: a mapping change holds the
 * workspace's access lock exclusively, so the groups it matches are read with every membership
 * write committed before it visible, and none can commit meanwhile.
 */
async function accessWork(trx: Transaction<Database>, workspaceId: string, events: readonly CommittedEvent[]): Promise<AccessWork[]> {
  const work: AccessWork[] = [];
  const wide = last(events.filter(WORKSPACE_WIDE));
  if (wide) return [{ scope: 'workspace', cause: wide.id }];

  for (const e of events.filter(ROLE_PERMISSIONS)) work.push({ scope: { roleIds: [e.targetId] }, cause: e.id });

  const mappings = events.filter(MAPPING);
  if (mappings.length > 0) {
    // Matched under the exclusive access lock: every SCIM write committed before is seen.
    const groupIds = new Set<string>();
    for (const e of mappings) {
      const { matchedBy, value } = (e.data ?? {}) as { matchedBy?: string; value?: string };
      const ref = { group_id: matchedBy === 'id' ? (value ?? null) : null, group_external_id: matchedBy === 'externalId' ? (value ?? null) : null, group_display_name: matchedBy === 'displayName' ? (value ?? null) : null };
      for (const id of await groupsMatching(trx, workspaceId, ref)) groupIds.add(id);
    }
    if (groupIds.size > 0) work.push({ scope: { groupIds: [...groupIds] }, cause: last(mappings)!.id });
  }

  const userCause = new Map<string, string>();
  for (const e of events) if (USER_ACCESS.has(e.type) && !userCause.has(e.targetId)) userCause.set(e.targetId, e.id);
  if (userCause.size > 0) work.push({ scope: { userIds: [...userCause.keys()] }, cause: (userId) => userCause.get(userId)! });

  // Group writes: the members they added or removed, each caused by their own member event; and
  // when a rename or externalId change could move the group in or out of a mapping, every member,
  // caused by that event. A group no mapping names (by id or any of its names) changes nobody.
  for (const groupId of new Set(events.filter((e) => e.targetType === 'group').map((e) => e.targetId))) {
    const memberCause = new Map<string, string>();
    for (const e of events) {
      const userId = e.data?.userId;
      // A user the lifecycle recompute above already covered (deleted, say) needs nothing more.
      if (MEMBERSHIP.has(e.type) && e.targetId === groupId && typeof userId === 'string' && !memberCause.has(userId) && !userCause.has(userId)) memberCause.set(userId, e.id);
    }
    if (memberCause.size === 0 && !events.some((e) => e.targetId === groupId && (e.type === 'group.renamed' || e.type === 'group.updated'))) continue;
    const { displayNames, externalIds, attributesChanged } = await groupNames(trx, workspaceId, events, groupId);
    const renamedIntoMapping = attributesChanged !== undefined && (await mappingsReferTo(trx, workspaceId, { displayNames, externalIds }));
    if (renamedIntoMapping) {
      work.push({ scope: { userIds: [...memberCause.keys()], groupIds: [groupId] }, cause: (userId) => memberCause.get(userId) ?? attributesChanged.id });
    } else if (memberCause.size > 0 && (await mappingsReferTo(trx, workspaceId, { groupIds: [groupId], displayNames, externalIds }))) {
      work.push({ scope: { userIds: [...memberCause.keys()] }, cause: (userId) => memberCause.get(userId)! });
    }
  }
  return work;
}

export const accessProjector: Projector<AccessChange> = {
  name: 'effective access',
  dependsOn: [
    'workspace.default_role_changed',
    'workspace.settings_changed',
    'permission.created',
    'permission.updated',
    'permission.deleted',
    'role.updated',
    'role.deleted',
    'mapping.created',
    'mapping.deleted',
    ...USER_ACCESS,
    ...MEMBERSHIP,
    'group.renamed',
    'group.updated',
  ],
  // A new role or group holds nobody until mapped or joined; names of users, tokens, policies,
  // SCIM schemas and the audit trail's own events do not decide access.
  ignores: [
    'user.updated',
    'group.created',
    'group.deleted',
    'role.created',
    'workspace.created',
    'access.recomputed',
    'policy.rules_changed',
    'policy.fallback_changed',
    'audit.purged',
    'scim.extension_declared',
    'scim.extension_changed',
    'scim.extension_removed',
    'token.created',
    'token.revoked',
    'token.rotated',
    'oauth_client.created',
    'oauth_client.revoked',
    ...WEBHOOK_EVENT_TYPES,
    ...REVIEW_EVENT_TYPES,
    'policy.created',
    'policy.updated',
    'policy.deleted',
    'policy.version_created',
    'access.changed',
    'policy.effective_changed',
  ],
  async project(trx, audit, events) {
    const changes: AccessChange[] = [];
    for (const { scope, cause } of await accessWork(trx, audit.workspaceId, events)) changes.push(...(await recomputeEffectiveAccess(trx, audit, scope, cause)));
    return changes;
  },
};

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


/**
 * Explanations from one snapshot: the users' facts and the model's version in one statement, and
 * the model from memory when it is still at that version (access-model-cache.ts); otherwise both
 * again in a repeatable-read transaction, whose model is remembered when this call opened it.
 */
export async function explainUsers(db: Executor, workspaceId: string, userIds: readonly string[]): Promise<EffectiveAccess[]> {
  let loaded = await loadUserAccessFacts(db, workspaceId, userIds);
  let model = cachedAccessModel(workspaceId, loaded.modelVersion);
  if (!model) {
    const own = !db.isTransaction;
    ({ model, loaded } = await consistentRead(db, async (trx) => {
      const [m, l] = await Promise.all([loadAccessModel(trx, workspaceId), loadUserAccessFacts(trx, workspaceId, userIds)]);
      if (own) rememberAccessModel(workspaceId, l.modelVersion, m);
      return { model: m, loaded: l };
    }));
  }
  // Users with the same facts (state, direct roles, groups) have the same explanation, and a
  // batch of a thousand users usually has a handful of distinct ones: each is explained once.
  const explained = new Map<string, Explanation>();
  return loaded.users.map(({ user, facts, snapshot }): EffectiveAccess => {
    const key = JSON.stringify([facts.active, facts.directRoleIds, facts.groups]);
    let e = explained.get(key);
    if (!e) explained.set(key, (e = explain(model, facts)));
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
  const limit = options.limit ?? DEFAULT_HOLDERS_PAGE;
  const after = decodeCursor(options.cursor ?? undefined, 1, ([id]) => typeof id === 'string' && isUuid(id))?.[0] as string | undefined;
  return consistentRead(db, async (db) => {
    if (!(await findPermission(db, workspaceId, key))) throw new AccessNotFoundError('permission', key);
    const rows = await holdersPage(db, workspaceId, key, after?.toLowerCase(), rowsToRead(limit));
    const { rows: holders, nextCursor } = keysetPage(rows, limit, (h) => [h.id]);
    const page: HoldersPage = { permission: key, holders, nextCursor };
    if (options.includeTotal) page.total = await countHolders(db, workspaceId, key);
    return page;
  });
}
