import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../access/errors.js';
import type { Effect, EffectSetting, MappingMatch, ResolutionStrategy } from '../access/model.js';
import { mappingReference } from '../access/resolve.js';
import type { AuditContext, NewAuditEvent } from '../audit/types.js';
import type { Db, Executor } from '../db/index.js';
import type { Database, PermissionRow, RoleMappingRow } from '../db/types.js';
import * as access from '../repositories/access.repository.js';
import { isUniqueViolation } from '../repositories/errors.js';
import { isUuid } from '../repositories/ids.js';
import { recomputeAccess } from '../repositories/effective-access.repository.js';
import { commit } from './commit.js';
import { accessChangedEvent, type AccessChange } from './effective-access.service.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';

// Admin use-cases of the access model: the permission catalogue, roles, mappings, direct
// role assignments, the default role and the resolution strategy. Each write is one transaction
// with its audit events and the recompute of every user whose access it may change, whose
// access.changed events name the write's event as their cause.
//
// Inputs arrive in the shape of their route schemas (src/routes/admin/access-schemas.ts), which
// check it; what is checked here needs the data. Errors: AccessValidationError(field) for a
// reference to a role, group or permission that does not exist, AccessNotFoundError for the
// resource the call acts on, AccessConflictError for duplicates and for deleting the default role.

type Trx = Transaction<Database>;

/** What every write returns besides its result: the users whose access it changed. */
export interface WriteResult<T> {
  result: T;
  accessChanges: AccessChange[];
}

async function write<T>(db: Db, work: (trx: Trx) => Promise<WriteResult<T>>): Promise<WriteResult<T>> {
  return db.transaction().execute(work);
}

// ---------------------------------------------------------------------------------------------
// Permissions

export interface PermissionView {
  key: string;
  description: string;
  baseline: boolean;
  createdAt: Date;
  updatedAt: Date;
}

function toPermissionView(p: PermissionRow): PermissionView {
  return { key: p.key, description: p.description, baseline: p.baseline, createdAt: new Date(p.created_at), updatedAt: new Date(p.updated_at) };
}

export async function listPermissions(db: Executor, workspaceId: string): Promise<PermissionView[]> {
  return (await access.listPermissions(db, workspaceId)).map(toPermissionView);
}

/** A page of the catalogue by key. */
export async function permissionsPage(db: Executor, workspaceId: string, query: { cursor?: string; limit: number }): Promise<Page<PermissionView>> {
  const after = decodeCursor(query.cursor, 1, ([key]) => typeof key === 'string');
  const page = keysetPage(await access.listPermissions(db, workspaceId, { after, limit: rowsToRead(query.limit) }), query.limit, (p) => [p.key]);
  return { items: page.rows.map(toPermissionView), nextCursor: page.nextCursor };
}

export async function getPermission(db: Executor, workspaceId: string, key: string): Promise<PermissionView> {
  const row = await access.findPermission(db, workspaceId, key);
  if (!row) throw new AccessNotFoundError('permission', key);
  return toPermissionView(row);
}

export interface CreatePermissionInput {
  key: string;
  description?: string;
  baseline?: boolean;
}

/** Adds a permission to the catalogue. A baseline-on permission is granted at once to every user no role decides it for. */
export async function createPermission(db: Db, audit: AuditContext, input: CreatePermissionInput): Promise<WriteResult<PermissionView>> {
  const p = { key: input.key, description: input.description ?? '', baseline: input.baseline ?? false };
  return write(db, async (trx) => {
    const row = await access.insertPermission(trx, audit.workspaceId, p);
    if (!row) throw new AccessConflictError(`The permission ${p.key} already exists`, 'key');
    const accessChanges = (await commit(trx, audit, [{ type: 'permission.created', targetType: 'permission', targetId: p.key, data: { key: p.key, description: p.description, baseline: p.baseline } }])).accessChanges;
    return { result: toPermissionView(row), accessChanges };
  });
}

export interface UpdatePermissionInput {
  description?: string;
  baseline?: boolean;
}

/** Changes a permission's description or baseline; a baseline change is recomputed for everyone. */
export async function updatePermission(db: Db, audit: AuditContext, key: string, input: UpdatePermissionInput): Promise<WriteResult<PermissionView>> {
  const set: { description?: string; baseline?: boolean } = {};
  if (input.description !== undefined) set.description = input.description;
  if (input.baseline !== undefined) set.baseline = input.baseline;
  return write(db, async (trx) => {
    const current = await access.lockPermission(trx, audit.workspaceId, key);
    if (!current) throw new AccessNotFoundError('permission', key);
    const changed = (Object.keys(set) as Array<keyof typeof set>).filter((k) => set[k] !== current[k]);
    if (changed.length === 0) return { result: toPermissionView(current), accessChanges: [] };
    const row = await access.updatePermission(trx, audit.workspaceId, key, set);
    const before = Object.fromEntries(changed.map((k) => [k, current[k]]));
    const after = Object.fromEntries(changed.map((k) => [k, row[k]]));
    const accessChanges = (await commit(trx, audit, [{ type: 'permission.updated', targetType: 'permission', targetId: key, data: { key, changed, before, after } }])).accessChanges;
    return { result: toPermissionView(row), accessChanges };
  });
}

/** Removes a permission from the catalogue and from every role; its holders lose it. */
export async function deletePermission(db: Db, audit: AuditContext, key: string): Promise<WriteResult<{ key: string; roles: Array<{ roleId: string; effect: Effect }> }>> {
  return write(db, async (trx) => {
    const current = await access.lockPermission(trx, audit.workspaceId, key);
    if (!current) throw new AccessNotFoundError('permission', key);
    const roles = await access.deletePermission(trx, audit.workspaceId, key);
    const accessChanges = (await commit(trx, audit, [{ type: 'permission.deleted', targetType: 'permission', targetId: key, data: { key, description: current.description, baseline: current.baseline, roles } }])).accessChanges;
    return { result: { key, roles }, accessChanges };
  });
}

// ---------------------------------------------------------------------------------------------
// Roles

export interface RoleView {
  id: string;
  name: string;
  description: string;
  /** Only the permissions the role decides; every other permission inherits its baseline. */
  permissions: Record<string, Effect>;
  isDefault: boolean;
  createdAt: Date;
  updatedAt: Date;
}

function toRoleView(r: access.RoleWithPermissions, defaultRoleId: string | null): RoleView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    permissions: r.permissions,
    isDefault: r.id === defaultRoleId,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** A page of the roles by name (case-insensitive), then id. */
export async function rolesPage(db: Executor, workspaceId: string, query: { cursor?: string; limit: number }): Promise<Page<RoleView>> {
  const after = decodeCursor(query.cursor, 2, ([name, id]) => typeof name === 'string' && typeof id === 'string' && isUuid(id));
  const [roles, settings] = await Promise.all([access.listRoles(db, workspaceId, { after, limit: rowsToRead(query.limit) }), access.getSettings(db, workspaceId)]);
  const page = keysetPage(roles, query.limit, (r) => [r.sort_key, r.id]);
  return { items: page.rows.map((r) => toRoleView(r, settings.defaultRoleId)), nextCursor: page.nextCursor };
}

/** A role by id, or by name (case-insensitive). */
export async function getRole(db: Executor, workspaceId: string, idOrName: string): Promise<RoleView> {
  const role = await findRole(db, workspaceId, idOrName);
  if (!role) throw new AccessNotFoundError('role', idOrName);
  return toRoleView(role, (await access.getSettings(db, workspaceId)).defaultRoleId);
}

async function findRole(db: Executor, workspaceId: string, idOrName: string, opts: { lock?: boolean } = {}): Promise<access.RoleWithPermissions | undefined> {
  if (typeof idOrName !== 'string') return undefined;
  if (isUuid(idOrName)) {
    const byId = await access.findRole(db, workspaceId, idOrName.toLowerCase(), opts);
    if (byId) return byId;
  }
  const byName = await access.findRoleByName(db, workspaceId, idOrName);
  return byName && opts.lock ? access.findRole(db, workspaceId, byName.id, opts) : byName;
}

/** A role reference inside a request body: a role of this workspace, or a validation error on `field`. */
async function referencedRole(db: Executor, workspaceId: string, id: string, field: string): Promise<access.RoleWithPermissions> {
  const role = isUuid(id) ? await access.findRole(db, workspaceId, id.toLowerCase()) : undefined;
  if (!role) throw new AccessValidationError(field, 'is not a role of this workspace');
  return role;
}

async function catalogueKeys(db: Executor, workspaceId: string): Promise<Set<string>> {
  return new Set((await access.listPermissions(db, workspaceId)).map((p) => p.key));
}

/** Settings without the 'inherit' entries: what the role stores. */
function decided(settings: Record<string, EffectSetting>): Record<string, Effect> {
  return Object.fromEntries(Object.entries(settings).filter((e): e is [string, Effect] => e[1] !== 'inherit'));
}

/** A role's permission settings, every key of them in the workspace's catalogue. */
async function inCatalogue(db: Executor, workspaceId: string, settings: Record<string, EffectSetting> = {}): Promise<Record<string, EffectSetting>> {
  const catalogue = await catalogueKeys(db, workspaceId);
  const unknown = Object.keys(settings).find((key) => !catalogue.has(key));
  if (unknown !== undefined) throw new AccessValidationError(`permissions.${unknown}`, 'is not a permission of this workspace (see the permission catalogue)');
  return settings;
}

function duplicateRoleName(name: string): AccessConflictError {
  return new AccessConflictError(`A role named ${JSON.stringify(name)} already exists in this workspace (names are case-insensitive)`, 'name');
}

export interface CreateRoleInput {
  name: string;
  description?: string;
  /** Per permission key: 'allow', 'deny' or 'inherit' (the same as leaving it out). */
  permissions?: Record<string, EffectSetting>;
}

/** Creates a role. Nobody has it yet (no mapping, no assignment), so no access changes. */
export async function createRole(db: Db, audit: AuditContext, input: CreateRoleInput): Promise<WriteResult<RoleView>> {
  const { name } = input;
  const description = input.description ?? '';
  return write(db, async (trx) => {
    const permissions = decided(await inCatalogue(trx, audit.workspaceId, input.permissions));
    let role: access.RoleWithPermissions | undefined;
    try {
      role = await access.insertRole(trx, audit.workspaceId, { name, description, permissions });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateRoleName(name);
      throw error;
    }
    if (!role) throw duplicateRoleName(name);
    await commit(trx, audit, [{ type: 'role.created', targetType: 'role', targetId: role.id, data: { name, description, permissions: role.permissions } }]);
    return { result: toRoleView(role, null), accessChanges: [] };
  });
}

export interface UpdateRoleInput {
  name?: string;
  description?: string;
  /**
   * Per permission key: 'allow', 'deny' or 'inherit'. Keys left out keep their setting (merge);
   * with `replacePermissions: true` they inherit (the role's settings become exactly these).
   */
  permissions?: Record<string, EffectSetting>;
  replacePermissions?: boolean;
}

/** Renames a role or changes its permissions; a permission change is recomputed for every user who has the role. */
export async function updateRole(db: Db, audit: AuditContext, roleId: string, input: UpdateRoleInput): Promise<WriteResult<RoleView>> {
  const { name, description } = input;
  return write(db, async (trx) => {
    const current = await findRole(trx, audit.workspaceId, roleId, { lock: true });
    if (!current) throw new AccessNotFoundError('role', roleId);
    const settings = await inCatalogue(trx, audit.workspaceId, input.permissions);
    const permissions = decided(input.replacePermissions ? settings : { ...current.permissions, ...settings });
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    if (name !== undefined && name !== current.name) [before.name, after.name] = [current.name, name];
    if (description !== undefined && description !== current.description) [before.description, after.description] = [current.description, description];
    const permissionsChanged = input.permissions !== undefined && JSON.stringify(sortKeys(permissions)) !== JSON.stringify(sortKeys(current.permissions));
    if (permissionsChanged) [before.permissions, after.permissions] = [current.permissions, sortKeys(permissions)];
    const changed = Object.keys(after);
    const defaultRoleId = (await access.getSettings(trx, audit.workspaceId)).defaultRoleId;
    if (changed.length === 0) return { result: toRoleView(current, defaultRoleId), accessChanges: [] };

    try {
      // Always touched: a change of permissions alone is a change of the role (updatedAt).
      await access.updateRole(trx, audit.workspaceId, current.id, { name, description });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateRoleName(name ?? current.name);
      throw error;
    }
    if (permissionsChanged) await access.setRolePermissions(trx, audit.workspaceId, current.id, permissions);
    const accessChanges = (await commit(trx, audit, [{ type: 'role.updated', targetType: 'role', targetId: current.id, data: { name: name ?? current.name, changed, before, after } }])).accessChanges;
    const updated = await access.findRole(trx, audit.workspaceId, current.id);
    return { result: toRoleView(updated!, defaultRoleId), accessChanges };
  });
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Deletes a role with its mappings and direct assignments (each recorded: mapping.deleted,
 * user.role_unassigned), then role.deleted, which causes the access changes. The default role
 * cannot be deleted: choose another default first.
 */
export async function deleteRole(db: Db, audit: AuditContext, roleId: string): Promise<WriteResult<{ id: string; name: string }>> {
  return write(db, async (trx) => {
    // Settings before the role: updateAccessSettings holds the settings row when its foreign key
    // takes the role's KEY SHARE lock, so the opposite order could deadlock with it.
    const settings = await access.getSettings(trx, audit.workspaceId, { lock: true });
    const current = await findRole(trx, audit.workspaceId, roleId, { lock: true });
    if (!current) throw new AccessNotFoundError('role', roleId);
    if (settings.defaultRoleId === current.id) {
      throw new AccessConflictError(`${JSON.stringify(current.name)} is the workspace's default role; set another default role (or none) before deleting it`, 'id');
    }
    const mappings = await access.listMappings(trx, audit.workspaceId, { roleId: current.id });
    const users = await access.usersWithRole(trx, current.id);
    await access.deleteRole(trx, audit.workspaceId, current.id);
    const events: NewAuditEvent[] = [
      ...mappings.map((m) => mappingEvent('mapping.deleted', m, current.name, m.matched_groups.map((g) => g.id))),
      ...users.map((userId): NewAuditEvent => ({ type: 'user.role_unassigned', targetType: 'user', targetId: userId, data: { roleId: current.id, roleName: current.name, reason: 'role_deleted' } })),
      { type: 'role.deleted', targetType: 'role', targetId: current.id, data: { name: current.name, description: current.description, permissions: current.permissions } },
    ];
    // The snapshot still lists the role for everyone who had it: exactly the users to recompute.
    const accessChanges = (await commit(trx, audit, events)).accessChanges;
    return { result: { id: current.id, name: current.name }, accessChanges };
  });
}

// ---------------------------------------------------------------------------------------------
// Mappings

export interface MappingView {
  id: string;
  roleId: string;
  roleName: string;
  /** How the mapping names its group. displayName matches case-insensitively and follows renames. */
  group: { by: MappingMatch; value: string };
  /** The groups it matches now; empty until the IdP pushes a group of that name or externalId. */
  matchedGroups: Array<{ id: string; displayName: string }>;
  createdAt: Date;
}

function toMappingView(m: access.MappingWithGroup): MappingView {
  const ref = mappingReference(access.toMapping(m));
  return {
    id: m.id,
    roleId: m.role_id,
    roleName: m.role_name,
    group: { by: ref.matchedBy, value: ref.value },
    matchedGroups: m.matched_groups,
    createdAt: new Date(m.created_at),
  };
}

function mappingEvent(type: 'mapping.created' | 'mapping.deleted', m: RoleMappingRow, roleName: string, matchedGroupIds: string[]): NewAuditEvent {
  const ref = mappingReference(access.toMapping(m));
  return {
    type,
    targetType: 'mapping',
    targetId: m.id,
    data: {
      roleId: m.role_id,
      roleName,
      matchedBy: ref.matchedBy,
      value: ref.value,
      // data.groupId feeds a group's history (audit_events_data_group_idx): the group named by id,
      // else the one group the reference matches now, if exactly one does.
      groupId: m.group_id ?? (matchedGroupIds.length === 1 ? matchedGroupIds[0] : null),
      matchedGroupIds,
    },
  };
}

export async function listMappings(db: Executor, workspaceId: string, filter: { roleId?: string; groupId?: string } = {}): Promise<MappingView[]> {
  return (await access.listMappings(db, workspaceId, { roleId: filter.roleId?.toLowerCase(), groupId: filter.groupId?.toLowerCase() })).map(toMappingView);
}

/** A page of the mappings by role name, then creation, then id; optionally of one role or matching one group. */
export async function mappingsPage(db: Executor, workspaceId: string, query: { roleId?: string; groupId?: string; cursor?: string; limit: number }): Promise<Page<MappingView>> {
  const after = decodeCursor(query.cursor, 3, ([name, ms, id]) => typeof name === 'string' && Number.isSafeInteger(ms) && typeof id === 'string' && isUuid(id));
  const rows = await access.listMappings(db, workspaceId, { roleId: query.roleId?.toLowerCase(), groupId: query.groupId?.toLowerCase() }, { after, limit: rowsToRead(query.limit) });
  const page = keysetPage(rows, query.limit, (m) => [m.sort_key, Number(m.created_ms), m.id]);
  return { items: page.rows.map(toMappingView), nextCursor: page.nextCursor };
}

export async function getMapping(db: Executor, workspaceId: string, id: string): Promise<MappingView> {
  const m = typeof id === 'string' && isUuid(id) ? await access.findMapping(db, workspaceId, id.toLowerCase()) : undefined;
  if (!m) throw new AccessNotFoundError('mapping', id);
  return toMappingView(m);
}

export interface CreateMappingInput {
  roleId: string;
  /** Exactly one of the three. */
  groupId?: string;
  groupExternalId?: string;
  groupDisplayName?: string;
}

/** Maps a group to a role; the group's current members are recomputed, caused by mapping.created. */
export async function createMapping(db: Db, audit: AuditContext, input: CreateMappingInput): Promise<WriteResult<MappingView>> {
  // The one rule of the body its schema does not state.
  const given = (['groupId', 'groupExternalId', 'groupDisplayName'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) {
    throw new AccessValidationError(given[1] ?? 'groupDisplayName', 'exactly one of groupId, groupExternalId and groupDisplayName names the group');
  }
  const kind = given[0]!;
  const ref: access.GroupReference =
    kind === 'groupId' ? { groupId: input.groupId!.toLowerCase() } : kind === 'groupExternalId' ? { groupExternalId: input.groupExternalId! } : { groupDisplayName: input.groupDisplayName! };
  return write(db, async (trx) => {
    const role = await referencedRole(trx, audit.workspaceId, input.roleId, 'roleId');
    if ('groupId' in ref) {
      const exists = await trx.selectFrom('groups').select('id').where('workspace_id', '=', audit.workspaceId).where('id', '=', ref.groupId).executeTakeFirst();
      // An id names an existing group; for a group the IdP has not pushed yet, map its displayName.
      if (!exists) throw new AccessValidationError('groupId', 'is not a group of this workspace (map a group not yet provisioned by groupDisplayName)');
    }
    const row = await access.insertMapping(trx, audit.workspaceId, role.id, ref);
    if (!row) throw new AccessConflictError(`The role ${JSON.stringify(role.name)} is already mapped to this ${kind.replace('group', 'group ')}`, kind);
    const matched = await access.groupsMatching(trx, audit.workspaceId, row);
    const accessChanges = (await commit(trx, audit, [mappingEvent('mapping.created', row, role.name, matched)])).accessChanges;
    const view = await access.findMapping(trx, audit.workspaceId, row.id);
    return { result: toMappingView(view!), accessChanges };
  });
}

/** Deletes a mapping; the members of the groups it matched are recomputed, caused by mapping.deleted. */
export async function deleteMapping(db: Db, audit: AuditContext, id: string): Promise<WriteResult<MappingView>> {
  return write(db, async (trx) => {
    const current = typeof id === 'string' && isUuid(id) ? await access.findMapping(trx, audit.workspaceId, id.toLowerCase()) : undefined;
    if (!current) throw new AccessNotFoundError('mapping', id);
    await access.deleteMapping(trx, audit.workspaceId, current.id);
    const matched = current.matched_groups.map((g) => g.id);
    const accessChanges = (await commit(trx, audit, [mappingEvent('mapping.deleted', current, current.role_name, matched)])).accessChanges;
    return { result: toMappingView(current), accessChanges };
  });
}

// ---------------------------------------------------------------------------------------------
// Direct role assignments

async function requireUser(db: Executor, workspaceId: string, userId: string, opts: { lock?: boolean } = {}): Promise<{ id: string; user_name: string }> {
  if (typeof userId !== 'string' || !isUuid(userId)) throw new AccessNotFoundError('user', String(userId));
  let query = db.selectFrom('users').select(['id', 'user_name']).where('workspace_id', '=', workspaceId).where('id', '=', userId.toLowerCase());
  // KEY SHARE, like the user_roles foreign key itself: keeps the user from being deleted meanwhile
  // without blocking SCIM updates of the user's attributes.
  if (opts.lock) query = query.forKeyShare();
  const user = await query.executeTakeFirst();
  if (!user) throw new AccessNotFoundError('user', userId);
  return user;
}

export async function listUserRoles(db: Executor, workspaceId: string, userId: string): Promise<Array<{ roleId: string; roleName: string; assignedAt: Date }>> {
  const user = await requireUser(db, workspaceId, userId);
  return access.listUserRoles(db, workspaceId, user.id);
}

/** Assigns a role to a user directly. Assigning it again changes nothing (assigned: false). */
export async function assignRole(db: Db, audit: AuditContext, userId: string, roleId: string): Promise<WriteResult<{ assigned: boolean }>> {
  return write<{ assigned: boolean }>(db, async (trx) => {
    const user = await requireUser(trx, audit.workspaceId, userId, { lock: true });
    const role = await referencedRole(trx, audit.workspaceId, roleId, 'roleId');
    if (!(await access.insertUserRole(trx, audit.workspaceId, user.id, role.id))) return { result: { assigned: false }, accessChanges: [] };
    const accessChanges = (await commit(trx, audit, [{ type: 'user.role_assigned', targetType: 'user', targetId: user.id, data: { roleId: role.id, roleName: role.name } }])).accessChanges;
    return { result: { assigned: true }, accessChanges };
  });
}

/** Removes a direct assignment; AccessNotFoundError('assignment') when the user does not have it directly. */
export async function unassignRole(db: Db, audit: AuditContext, userId: string, roleId: string): Promise<WriteResult<{ unassigned: true }>> {
  return write(db, async (trx) => {
    const user = await requireUser(trx, audit.workspaceId, userId, { lock: true });
    const role = await referencedRole(trx, audit.workspaceId, roleId, 'roleId');
    if (!(await access.deleteUserRole(trx, audit.workspaceId, user.id, role.id))) {
      throw new AccessNotFoundError('assignment', `${user.id}/${role.id}`, `The role ${JSON.stringify(role.name)} is not assigned directly to this user`);
    }
    const accessChanges = (await commit(trx, audit, [{ type: 'user.role_unassigned', targetType: 'user', targetId: user.id, data: { roleId: role.id, roleName: role.name } }])).accessChanges;
    return { result: { unassigned: true }, accessChanges };
  });
}

// ---------------------------------------------------------------------------------------------
// Workspace settings: resolution strategy and default role

export interface AccessSettingsView {
  strategy: ResolutionStrategy;
  defaultRoleId: string | null;
  defaultRoleName: string | null;
}

export async function getAccessSettings(db: Executor, workspaceId: string): Promise<AccessSettingsView> {
  const settings = await access.getSettings(db, workspaceId);
  const role = settings.defaultRoleId ? await access.findRole(db, workspaceId, settings.defaultRoleId) : undefined;
  return { ...settings, defaultRoleName: role?.name ?? null };
}

export interface UpdateAccessSettingsInput {
  strategy?: ResolutionStrategy;
  /** A role id, or null for no default role (users without a role then get the baselines). */
  defaultRoleId?: string | null;
}

/**
 * Changes the resolution strategy and/or the default role: workspace.settings_changed and/or
 * workspace.default_role_changed, then everyone is recomputed (caused by the first of them).
 */
export async function updateAccessSettings(db: Db, audit: AuditContext, input: UpdateAccessSettingsInput): Promise<WriteResult<AccessSettingsView>> {
  const { strategy, defaultRoleId } = input;
  return write(db, async (trx) => {
    const current = await access.getSettings(trx, audit.workspaceId, { lock: true });
    let defaultRole: access.RoleWithPermissions | undefined;
    if (defaultRoleId !== undefined && defaultRoleId !== null) defaultRole = await referencedRole(trx, audit.workspaceId, defaultRoleId, 'defaultRoleId');
    const next: access.AccessSettings = {
      strategy: strategy ?? current.strategy,
      defaultRoleId: defaultRoleId === undefined ? current.defaultRoleId : (defaultRole?.id ?? null),
    };
    const events: NewAuditEvent[] = [];
    if (next.strategy !== current.strategy) {
      events.push({
        type: 'workspace.settings_changed',
        targetType: 'workspace',
        targetId: audit.workspaceId,
        data: { changed: ['strategy'], before: { strategy: current.strategy }, after: { strategy: next.strategy } },
      });
    }
    if (next.defaultRoleId !== current.defaultRoleId) {
      events.push({
        type: 'workspace.default_role_changed',
        targetType: 'workspace',
        targetId: audit.workspaceId,
        data: { before: current.defaultRoleId, after: next.defaultRoleId, afterName: defaultRole?.name ?? null },
      });
    }
    if (events.length === 0) return { result: await getAccessSettings(trx, audit.workspaceId), accessChanges: [] };
    await access.saveSettings(trx, audit.workspaceId, next);
    const accessChanges = (await commit(trx, audit, events)).accessChanges;
    return { result: await getAccessSettings(trx, audit.workspaceId), accessChanges };
  });
}

/** Shorthand for updateAccessSettings({ defaultRoleId }). */
export async function setDefaultRole(db: Db, audit: AuditContext, roleId: string | null): Promise<WriteResult<AccessSettingsView>> {
  return updateAccessSettings(db, audit, { defaultRoleId: roleId });
}

// ---------------------------------------------------------------------------------------------
// Seeding and repair

export interface InitResult {
  permissionsCreated: string[];
  rolesCreated: Array<{ id: string; name: string }>;
  mappingsCreated: Array<{ id: string; roleName: string; groupDisplayName: string }>;
  defaultRoleId: string | null;
}

/**
 * `codex-scim init`: adds the recommended catalogue, roles, displayName mappings and default role
 * where missing (src/access/recommended.ts), records each addition, and recomputes the workspace
 * (a mapping to a group the IdP already pushed grants its members access now). Re-runnable: a
 * second run adds nothing, and never touches what an admin edited.
 */
export async function initWorkspaceAccess(db: Db, audit: AuditContext): Promise<WriteResult<InitResult>> {
  return write(db, async (trx) => {
    const seeded = await access.seedWorkspaceAccess(trx, audit.workspaceId);
    const events: NewAuditEvent[] = [
      ...seeded.permissions.map((p): NewAuditEvent => ({ type: 'permission.created', targetType: 'permission', targetId: p.key, data: { key: p.key, description: p.description, baseline: p.baseline } })),
      ...seeded.roles.map((r): NewAuditEvent => ({ type: 'role.created', targetType: 'role', targetId: r.id, data: { name: r.name, description: r.description, permissions: r.permissions } })),
    ];
    for (const m of seeded.mappings) events.push(mappingEvent('mapping.created', m, m.role_name, await access.groupsMatching(trx, audit.workspaceId, m)));
    if (seeded.settingsCreated) {
      events.push({ type: 'workspace.default_role_changed', targetType: 'workspace', targetId: audit.workspaceId, data: { before: null, after: seeded.defaultRoleId } });
    }
    const result: InitResult = {
      permissionsCreated: seeded.permissions.map((p) => p.key),
      rolesCreated: seeded.roles.map((r) => ({ id: r.id, name: r.name })),
      mappingsCreated: seeded.mappings.map((m) => ({ id: m.id, roleName: m.role_name, groupDisplayName: m.group_display_name ?? '' })),
      defaultRoleId: (await access.getSettings(trx, audit.workspaceId)).defaultRoleId,
    };
    if (events.length === 0) return { result, accessChanges: [] };
    // The last event completes the seed; the access it grants is attributed to it.
    const accessChanges = (await commit(trx, audit, events)).accessChanges;
    return { result, accessChanges };
  });
}

/**
 * Recomputes every user of the workspace and repairs user_access where it differs (it should not:
 * every change recomputes in its own transaction). Differences are recorded as access.changed
 * events caused by one access.recomputed event; nothing is recorded when nothing differed.
 */
export async function repairEffectiveAccess(db: Db, audit: AuditContext): Promise<WriteResult<{ changedUsers: number }>> {
  return write(db, async (trx) => {
    const eventId = randomUUID();
    const rows = await recomputeAccess(trx, audit.workspaceId, 'workspace');
    if (rows.length === 0) return { result: { changedUsers: 0 }, accessChanges: [] };
    const changes = rows.map((r) => accessChangedEvent(r, eventId));
    const events: NewAuditEvent[] = [{ id: eventId, type: 'access.recomputed', targetType: 'workspace', targetId: audit.workspaceId, data: { changedUsers: rows.length } }, ...changes];
    // Through the commit step like every write (no projector depends on these types).
    const { eventIds: ids } = await commit(trx, audit, events);
    const accessChanges = changes.map((e, i): AccessChange => ({ ...rows[i]!, granted: e.data.granted, revoked: e.data.revoked, eventId: ids[i + 1]! }));
    return { result: { changedUsers: rows.length }, accessChanges };
  });
}
