import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AccessModel, Effect, Mapping, Permission, ResolutionStrategy, Role } from '../access/model.js';
import { DEFAULT_STRATEGY } from '../access/model.js';
import { RECOMMENDED_DEFAULT_ROLE, RECOMMENDED_PERMISSIONS, RECOMMENDED_ROLES } from '../access/recommended.js';
import type { Executor } from '../db/index.js';
import type { PermissionRow, RoleMappingRow, RoleRow } from '../db/types.js';

// All Kysely code for the access model's definitions: the permission catalogue, roles and their
// permission settings, group → role mappings, direct assignments and the workspace's settings.
// Effective access (the recompute, holders, explain facts) is in effective-access.repository.ts.

// ---------------------------------------------------------------------------------------------
// Permissions

/** A keyset page: the rows after `after` (the sort key of the previous page's last row), at most `limit`. */
export interface KeysetPage {
  after?: readonly (string | number)[];
  limit: number;
}

/** The catalogue by key; a page of it when asked. */
export async function listPermissions(db: Executor, workspaceId: string, page?: KeysetPage): Promise<PermissionRow[]> {
  let query = db.selectFrom('permissions').selectAll().where('workspace_id', '=', workspaceId).orderBy(sql`key collate "C"`);
  if (page?.after) query = query.where(sql<boolean>`key collate "C" > ${String(page.after[0])}`);
  return (page ? query.limit(page.limit) : query).execute();
}

export async function findPermission(db: Executor, workspaceId: string, key: string): Promise<PermissionRow | undefined> {
  return db.selectFrom('permissions').selectAll().where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
}

export async function lockPermission(db: Executor, workspaceId: string, key: string): Promise<PermissionRow | undefined> {
  return db.selectFrom('permissions').selectAll().where('workspace_id', '=', workspaceId).where('key', '=', key).forUpdate().executeTakeFirst();
}

/** Inserts unless the key exists; undefined when it did. */
export async function insertPermission(db: Executor, workspaceId: string, p: Permission): Promise<PermissionRow | undefined> {
  return db
    .insertInto('permissions')
    .values({ workspace_id: workspaceId, key: p.key, description: p.description, baseline: p.baseline })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updatePermission(db: Executor, workspaceId: string, key: string, set: { description?: string; baseline?: boolean }): Promise<PermissionRow> {
  return db
    .updateTable('permissions')
    .set({ ...set, updated_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes the permission (its role settings go with it); returns the settings that went. */
export async function deletePermission(db: Executor, workspaceId: string, key: string): Promise<Array<{ roleId: string; effect: Effect }>> {
  const settings = await db
    .selectFrom('role_permissions')
    .select(['role_id as roleId', 'effect'])
    .where('workspace_id', '=', workspaceId)
    .where('permission_key', '=', key)
    .orderBy('role_id')
    .execute();
  await db.deleteFrom('permissions').where('workspace_id', '=', workspaceId).where('key', '=', key).execute();
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Roles

export interface RoleWithPermissions extends RoleRow {
  permissions: Record<string, Effect>;
}

async function withPermissions<R extends RoleRow>(db: Executor, rows: R[]): Promise<Array<R & { permissions: Record<string, Effect> }>> {
  if (rows.length === 0) return [];
  const settings = await db
    .selectFrom('role_permissions')
    .select(['role_id', 'permission_key', 'effect'])
    .where(
      'role_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy(sql`permission_key collate "C"`)
    .execute();
  const byRole = new Map<string, Record<string, Effect>>(rows.map((r) => [r.id, {}]));
  for (const s of settings) byRole.get(s.role_id)![s.permission_key] = s.effect;
  return rows.map((r) => ({ ...r, permissions: byRole.get(r.id)! }));
}

/** Roles by lower(name), then id; a page of them when asked (keyset [lower(name), id]). */
export async function listRoles(db: Executor, workspaceId: string, page?: KeysetPage): Promise<Array<RoleWithPermissions & { sort_key: string }>> {
  let query = db.selectFrom('roles').selectAll().select(sql<string>`lower(name)`.as('sort_key')).where('workspace_id', '=', workspaceId).orderBy(sql`lower(name)`).orderBy('id');
  if (page?.after) query = query.where(sql<boolean>`(lower(name), id) > (${String(page.after[0])}, ${String(page.after[1])}::uuid)`);
  const rows = await (page ? query.limit(page.limit) : query).execute();
  return withPermissions(db, rows);
}

export async function findRole(db: Executor, workspaceId: string, id: string, opts: { lock?: boolean } = {}): Promise<RoleWithPermissions | undefined> {
  let query = db.selectFrom('roles').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (opts.lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? (await withPermissions(db, [row]))[0] : undefined;
}

export async function findRoleByName(db: Executor, workspaceId: string, name: string): Promise<RoleWithPermissions | undefined> {
  const row = await db
    .selectFrom('roles')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where(sql`lower(name)`, '=', sql`lower(${name})`)
    .executeTakeFirst();
  return row ? (await withPermissions(db, [row]))[0] : undefined;
}

/** Inserts a role; undefined when the name is taken (case-insensitively). */
export async function insertRole(
  db: Executor,
  workspaceId: string,
  role: { id?: string; name: string; description: string; permissions: Record<string, Effect> },
): Promise<RoleWithPermissions | undefined> {
  const row = await db
    .insertInto('roles')
    .values({ id: role.id ?? randomUUID(), workspace_id: workspaceId, name: role.name, description: role.description })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  await setRolePermissions(db, workspaceId, row.id, role.permissions);
  return { ...row, permissions: sortedEffects(role.permissions) };
}

function sortedEffects(effects: Record<string, Effect>): Record<string, Effect> {
  return Object.fromEntries(Object.entries(effects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function updateRole(db: Executor, workspaceId: string, id: string, set: { name?: string; description?: string }): Promise<void> {
  await db
    .updateTable('roles')
    .set({ ...set, updated_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** Replaces the role's settings with `effects` (keys absent from it inherit). */
export async function setRolePermissions(db: Executor, workspaceId: string, roleId: string, effects: Record<string, Effect>): Promise<void> {
  await db.deleteFrom('role_permissions').where('role_id', '=', roleId).execute();
  const rows = Object.entries(effects).map(([key, effect]) => ({ role_id: roleId, workspace_id: workspaceId, permission_key: key, effect }));
  if (rows.length > 0) await db.insertInto('role_permissions').values(rows).execute();
}

export async function deleteRole(db: Executor, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('roles').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

// ---------------------------------------------------------------------------------------------
// Mappings

export interface MappingFilter {
  roleId?: string;
  /** Mappings that match this group now, by any of the three kinds of reference. */
  groupId?: string;
}

export interface MappingWithGroup extends RoleMappingRow {
  role_name: string;
  /** The groups the mapping matches now (none when the IdP has not pushed the group yet). */
  matched_groups: Array<{ id: string; displayName: string }>;
}

/**
 * The groups a mapping matches now, by the same rules as the recompute (effective-access.repository.ts):
 * one branch per kind of reference, each an index lookup; exactly one branch applies.
 */
const matchedGroupsSql = sql<Array<{ id: string; displayName: string }>>`coalesce((
  select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by g.display_name, g.id)
  from (
    select g.id, g.display_name from groups g
    where m.group_id is not null and g.workspace_id = m.workspace_id and g.id = m.group_id
    union all
    select g.id, g.display_name from groups g
    where m.group_external_id is not null and g.workspace_id = m.workspace_id and g.external_id = m.group_external_id
    union all
    select g.id, g.display_name from groups g
    where m.group_display_name is not null and g.workspace_id = m.workspace_id and lower(g.display_name) = lower(m.group_display_name)
  ) as g
), '[]'::json)`;

/**
 * Mappings by role name, then creation (to the millisecond, the cursor's precision), then id; a
 * page of them when asked (keyset [lower(role name), created_at in ms, id]).
 */
export async function listMappings(db: Executor, workspaceId: string, filter: MappingFilter = {}, page?: KeysetPage): Promise<Array<MappingWithGroup & { sort_key: string; created_ms: number }>> {
  let query = db
    .selectFrom('role_mappings as m')
    .innerJoin('roles as r', 'r.id', 'm.role_id')
    .selectAll('m')
    .select(['r.name as role_name', matchedGroupsSql.as('matched_groups')])
    .select([sql<string>`lower(r.name)`.as('sort_key'), sql<number>`(extract(epoch from date_trunc('milliseconds', m.created_at)) * 1000)::bigint`.as('created_ms')])
    .where('m.workspace_id', '=', workspaceId);
  if (filter.roleId) query = query.where('m.role_id', '=', filter.roleId);
  if (filter.groupId) {
    const groupId = filter.groupId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('groups as g')
          .select(sql`1`.as('one'))
          .where('g.id', '=', groupId)
          .where('g.workspace_id', '=', workspaceId)
          .where(sql<boolean>`(g.id = m.group_id or g.external_id = m.group_external_id or lower(g.display_name) = lower(m.group_display_name))`),
      ),
    );
  }
  if (page?.after) {
    const [name, createdMs, id] = page.after;
    query = query.where(sql<boolean>`(lower(r.name), date_trunc('milliseconds', m.created_at), m.id) > (${String(name)}, ${new Date(Number(createdMs))}, ${String(id)}::uuid)`);
  }
  query = query.orderBy(sql`lower(r.name)`).orderBy(sql`date_trunc('milliseconds', m.created_at)`).orderBy('m.id');
  return (page ? query.limit(page.limit) : query).execute();
}

export async function findMapping(db: Executor, workspaceId: string, id: string): Promise<MappingWithGroup | undefined> {
  return db
    .selectFrom('role_mappings as m')
    .innerJoin('roles as r', 'r.id', 'm.role_id')
    .selectAll('m')
    .select(['r.name as role_name', matchedGroupsSql.as('matched_groups')])
    .where('m.workspace_id', '=', workspaceId)
    .where('m.id', '=', id)
    .executeTakeFirst();
}

export type GroupReference = { groupId: string } | { groupExternalId: string } | { groupDisplayName: string };

/** Inserts a mapping; undefined when the role already has one naming the group the same way. */
export async function insertMapping(db: Executor, workspaceId: string, roleId: string, ref: GroupReference, id = randomUUID()): Promise<RoleMappingRow | undefined> {
  return db
    .insertInto('role_mappings')
    .values({
      id,
      workspace_id: workspaceId,
      role_id: roleId,
      group_id: 'groupId' in ref ? ref.groupId : null,
      group_external_id: 'groupExternalId' in ref ? ref.groupExternalId : null,
      group_display_name: 'groupDisplayName' in ref ? ref.groupDisplayName : null,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function deleteMapping(db: Executor, workspaceId: string, id: string): Promise<RoleMappingRow | undefined> {
  return db.deleteFrom('role_mappings').where('workspace_id', '=', workspaceId).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Groups of the workspace a mapping reference matches now (ids). */
export async function groupsMatching(db: Executor, workspaceId: string, ref: { group_id: string | null; group_external_id: string | null; group_display_name: string | null }): Promise<string[]> {
  let query = db.selectFrom('groups').select('id').where('workspace_id', '=', workspaceId);
  if (ref.group_id !== null) query = query.where('id', '=', ref.group_id);
  else if (ref.group_external_id !== null) query = query.where('external_id', '=', ref.group_external_id);
  else if (ref.group_display_name !== null) query = query.where(sql`lower(display_name)`, '=', sql`lower(${ref.group_display_name})`);
  else return [];
  return (await query.execute()).map((r) => r.id);
}

/**
 * Whether any mapping names a group by one of these ids, external ids or display names — what
 * tells a SCIM group write whether its members' access can change at all.
 */
/** The names a group has now (mappings may name it by either); undefined once it is deleted. */
export async function groupNamesOf(db: Executor, workspaceId: string, groupId: string): Promise<{ displayName: string; externalId: string | null } | undefined> {
  const row = await db.selectFrom('groups').select(['display_name', 'external_id']).where('workspace_id', '=', workspaceId).where('id', '=', groupId).executeTakeFirst();
  return row && { displayName: row.display_name, externalId: row.external_id };
}

export async function mappingsReferTo(db: Executor, workspaceId: string, refs: { groupIds?: string[]; externalIds?: string[]; displayNames?: string[] }): Promise<boolean> {
  const groupIds = refs.groupIds ?? [];
  const externalIds = refs.externalIds ?? [];
  const displayNames = refs.displayNames ?? [];
  if (groupIds.length === 0 && externalIds.length === 0 && displayNames.length === 0) return false;
  const row = await db
    .selectFrom('role_mappings')
    .select(sql`1`.as('one'))
    .where('workspace_id', '=', workspaceId)
    .where((eb) =>
      eb.or([
        ...(groupIds.length > 0 ? [eb('group_id', 'in', groupIds)] : []),
        ...(externalIds.length > 0 ? [eb('group_external_id', 'in', externalIds)] : []),
        ...(displayNames.length > 0 ? [eb(sql`lower(group_display_name)`, 'in', displayNames.map((n) => sql`lower(${n})`))] : []),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Direct assignments

export async function listUserRoles(db: Executor, workspaceId: string, userId: string): Promise<Array<{ roleId: string; roleName: string; assignedAt: Date }>> {
  const rows = await db
    .selectFrom('user_roles as ur')
    .innerJoin('roles as r', 'r.id', 'ur.role_id')
    .select(['ur.role_id as roleId', 'r.name as roleName', 'ur.created_at as assignedAt'])
    .where('ur.workspace_id', '=', workspaceId)
    .where('ur.user_id', '=', userId)
    .orderBy(sql`lower(r.name)`)
    .execute();
  return rows.map((r) => ({ ...r, assignedAt: new Date(r.assignedAt) }));
}

/** True when the assignment is new. */
export async function insertUserRole(db: Executor, workspaceId: string, userId: string, roleId: string): Promise<boolean> {
  const row = await db
    .insertInto('user_roles')
    .values({ user_id: userId, role_id: roleId, workspace_id: workspaceId })
    .onConflict((oc) => oc.doNothing())
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** True when there was such an assignment. */
export async function deleteUserRole(db: Executor, workspaceId: string, userId: string, roleId: string): Promise<boolean> {
  const row = await db
    .deleteFrom('user_roles')
    .where('workspace_id', '=', workspaceId)
    .where('user_id', '=', userId)
    .where('role_id', '=', roleId)
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Users a role is assigned to directly. */
export async function usersWithRole(db: Executor, roleId: string): Promise<string[]> {
  const rows = await db.selectFrom('user_roles').select('user_id').where('role_id', '=', roleId).orderBy('user_id').execute();
  return rows.map((r) => r.user_id);
}

// ---------------------------------------------------------------------------------------------
// Settings

export interface AccessSettings {
  strategy: ResolutionStrategy;
  defaultRoleId: string | null;
}

/** The workspace's settings; the defaults when it has never been seeded. */
export async function getSettings(db: Executor, workspaceId: string, opts: { lock?: boolean } = {}): Promise<AccessSettings> {
  let query = db.selectFrom('workspace_access_settings').select(['strategy', 'default_role_id']).where('workspace_id', '=', workspaceId);
  if (opts.lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return { strategy: row?.strategy ?? DEFAULT_STRATEGY, defaultRoleId: row?.default_role_id ?? null };
}

export async function saveSettings(db: Executor, workspaceId: string, settings: AccessSettings): Promise<void> {
  await db
    .insertInto('workspace_access_settings')
    .values({ workspace_id: workspaceId, strategy: settings.strategy, default_role_id: settings.defaultRoleId })
    .onConflict((oc) =>
      oc.column('workspace_id').doUpdateSet({ strategy: settings.strategy, default_role_id: settings.defaultRoleId, updated_at: new Date() }),
    )
    .execute();
}

// ---------------------------------------------------------------------------------------------
// The whole model, for the resolver

export async function loadAccessModel(db: Executor, workspaceId: string): Promise<AccessModel> {
  const [permissions, roles, mappings, settings] = await Promise.all([
    listPermissions(db, workspaceId),
    listRoles(db, workspaceId),
    db.selectFrom('role_mappings').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute(),
    getSettings(db, workspaceId),
  ]);
  return {
    strategy: settings.strategy,
    defaultRoleId: settings.defaultRoleId,
    permissions: permissions.map((p): Permission => ({ key: p.key, description: p.description, baseline: p.baseline })),
    roles: roles.map((r): Role => ({ id: r.id, name: r.name, permissions: r.permissions })),
    mappings: mappings.map(toMapping),
  };
}

export function toMapping(m: RoleMappingRow): Mapping {
  return { id: m.id, roleId: m.role_id, groupId: m.group_id, groupExternalId: m.group_external_id, groupDisplayName: m.group_display_name };
}

// ---------------------------------------------------------------------------------------------
// Seeding

export interface SeedResult {
  permissions: PermissionRow[];
  roles: RoleWithPermissions[];
  mappings: Array<RoleMappingRow & { role_name: string }>;
  /** Set when this call created the settings row (with the default role). */
  settingsCreated: boolean;
  defaultRoleId: string | null;
}

/**
 * Adds the recommended catalogue, roles, displayName mappings and default role (src/access/
 * recommended.ts) where they are missing, and nothing else: a role that exists by name keeps its
 * settings, an existing settings row keeps its strategy and default role. Idempotent; records no
 * audit events (the caller does, or — for a workspace created in the same transaction — the
 * workspace has no history to explain yet).
 */
export async function seedWorkspaceAccess(db: Executor, workspaceId: string): Promise<SeedResult> {
  const result: SeedResult = { permissions: [], roles: [], mappings: [], settingsCreated: false, defaultRoleId: null };
  for (const p of RECOMMENDED_PERMISSIONS) {
    const inserted = await insertPermission(db, workspaceId, p);
    if (inserted) result.permissions.push(inserted);
  }
  const catalogue = new Set((await listPermissions(db, workspaceId)).map((p) => p.key));
  const roleIds = new Map<string, string>();
  for (const r of [...RECOMMENDED_ROLES, RECOMMENDED_DEFAULT_ROLE]) {
    // An admin may have deleted a recommended permission: seed only settings the catalogue allows.
    const permissions = Object.fromEntries(Object.entries(r.permissions).filter(([k]) => catalogue.has(k)));
    const inserted = await insertRole(db, workspaceId, { name: r.name, description: r.description, permissions });
    if (inserted) result.roles.push(inserted);
    const role = inserted ?? (await findRoleByName(db, workspaceId, r.name));
    if (!role) throw new Error(`recommended role ${r.name} could neither be created nor found`);
    roleIds.set(r.name, role.id);
    for (const group of r.groups) {
      const mapping = await insertMapping(db, workspaceId, role.id, { groupDisplayName: group });
      if (mapping) result.mappings.push({ ...mapping, role_name: role.name });
    }
  }
  const defaultRoleId = roleIds.get(RECOMMENDED_DEFAULT_ROLE.name) ?? null;
  const settings = await db
    .insertInto('workspace_access_settings')
    .values({ workspace_id: workspaceId, strategy: DEFAULT_STRATEGY, default_role_id: defaultRoleId })
    .onConflict((oc) => oc.column('workspace_id').doNothing())
    .returning('default_role_id')
    .executeTakeFirst();
  if (settings) {
    result.settingsCreated = true;
    result.defaultRoleId = settings.default_role_id;
  }
  return result;
}

