import type { AccessModel, Effect, GroupFacts, Mapping, MappingMatch, Permission, ResolutionStrategy, Role, UserFacts } from './model.js';

// Effective permissions, with the reasons for each. The recompute SQL in
// src/repositories/access.repository.ts implements the same rules set-based; the property test in
// test/access/recompute.test.ts holds them together. Change both or neither.
//
//   roles(user)  = direct roles ∪ roles mapped to the user's groups, or {default role} when empty
//   value(p)     = most-permissive: any allow → true;  else any deny → false; else baseline(p)
//                  deny-overrides:  any deny  → false; else any allow → true; else baseline(p)
//   a deactivated or deleted user holds nothing.

/** Why a user has a role. */
export type RoleSource =
  | { type: 'direct' }
  | { type: 'group'; groupId: string; groupDisplayName: string; mappingId: string; matchedBy: MappingMatch; mappingValue: string }
  | { type: 'default' };

export interface ResolvedRole {
  roleId: string;
  roleName: string;
  sources: RoleSource[];
}

export type Decision = 'allow' | 'deny' | 'baseline' | 'inactive' | 'deleted';

export interface PermissionExplanation {
  key: string;
  value: boolean;
  /** What decided the value: a role's allow or deny, the baseline, or the user's state. */
  decidedBy: Decision;
  /** The user's roles that allow / deny the permission (whether or not they decided it). */
  allowedBy: ResolvedRole[];
  deniedBy: ResolvedRole[];
  /** The same, as sentences for people. */
  reasons: string[];
}

export interface Explanation {
  userId: string;
  exists: boolean;
  active: boolean;
  strategy: ResolutionStrategy;
  /** True when the user has no role of their own and the default role applies. */
  usedDefaultRole: boolean;
  roles: ResolvedRole[];
  permissions: PermissionExplanation[];
  /** Keys with value true, sorted: what user_access.granted holds. */
  granted: string[];
}

/** The case folding of displayName matching (SQL: lower(); the same for ASCII names). */
export function foldName(name: string): string {
  return name.toLowerCase();
}

/** The kind of reference by which `mapping` names `group`, or undefined when it does not. */
export function mappingMatches(mapping: Mapping, group: Pick<GroupFacts, 'id' | 'displayName' | 'externalId'>): MappingMatch | undefined {
  if (mapping.groupId !== null) return mapping.groupId === group.id ? 'id' : undefined;
  if (mapping.groupExternalId !== null) return group.externalId !== null && mapping.groupExternalId === group.externalId ? 'externalId' : undefined;
  if (mapping.groupDisplayName !== null) return foldName(mapping.groupDisplayName) === foldName(group.displayName) ? 'displayName' : undefined;
  return undefined;
}

/** The kind of reference a mapping uses, and its value. */
export function mappingReference(mapping: Mapping): { matchedBy: MappingMatch; value: string } {
  if (mapping.groupId !== null) return { matchedBy: 'id', value: mapping.groupId };
  if (mapping.groupExternalId !== null) return { matchedBy: 'externalId', value: mapping.groupExternalId };
  return { matchedBy: 'displayName', value: mapping.groupDisplayName ?? '' };
}

function byNameThenId(a: ResolvedRole, b: ResolvedRole): number {
  return a.roleName < b.roleName ? -1 : a.roleName > b.roleName ? 1 : a.roleId < b.roleId ? -1 : a.roleId > b.roleId ? 1 : 0;
}

/** The user's roles and why they have each (independent of whether the user is active). */
export function resolveRoles(model: AccessModel, user: UserFacts): { roles: ResolvedRole[]; usedDefaultRole: boolean } {
  const roleById = new Map(model.roles.map((r) => [r.id, r]));
  const resolved = new Map<string, ResolvedRole>();
  const add = (roleId: string, source: RoleSource) => {
    let entry = resolved.get(roleId);
    if (!entry) {
      entry = { roleId, roleName: roleById.get(roleId)?.name ?? roleId, sources: [] };
      resolved.set(roleId, entry);
    }
    entry.sources.push(source);
  };
  if (user.exists === false) return { roles: [], usedDefaultRole: false };

  for (const roleId of user.directRoleIds) add(roleId, { type: 'direct' });
  const mappingById = new Map(model.mappings.map((m) => [m.id, m]));
  for (const group of user.groups) {
    const matches: Array<[Mapping, MappingMatch]> = [];
    if (group.matchedMappingIds) {
      for (const id of group.matchedMappingIds) {
        const mapping = mappingById.get(id);
        if (mapping) matches.push([mapping, mappingReference(mapping).matchedBy]);
      }
    } else {
      for (const mapping of model.mappings) {
        const how = mappingMatches(mapping, group);
        if (how) matches.push([mapping, how]);
      }
    }
    for (const [mapping, matchedBy] of matches) {
      add(mapping.roleId, {
        type: 'group',
        groupId: group.id,
        groupDisplayName: group.displayName,
        mappingId: mapping.id,
        matchedBy,
        mappingValue: mappingReference(mapping).value,
      });
    }
  }
  let usedDefaultRole = false;
  if (resolved.size === 0 && model.defaultRoleId !== null) {
    add(model.defaultRoleId, { type: 'default' });
    usedDefaultRole = true;
  }
  return { roles: [...resolved.values()].sort(byNameThenId), usedDefaultRole };
}

/** The value of one permission from the votes of the user's roles. */
export function decide(strategy: ResolutionStrategy, allowed: boolean, denied: boolean, baseline: boolean): { value: boolean; decidedBy: 'allow' | 'deny' | 'baseline' } {
  if (strategy === 'deny-overrides') {
    if (denied) return { value: false, decidedBy: 'deny' };
    if (allowed) return { value: true, decidedBy: 'allow' };
  } else {
    if (allowed) return { value: true, decidedBy: 'allow' };
    if (denied) return { value: false, decidedBy: 'deny' };
  }
  return { value: baseline, decidedBy: 'baseline' };
}

function describeSource(source: RoleSource): string {
  switch (source.type) {
    case 'direct':
      return 'assigned directly';
    case 'default':
      return 'the default role, as the user has no other role';
    case 'group': {
      const how =
        source.matchedBy === 'displayName'
          ? `matches its displayName ${JSON.stringify(source.mappingValue)}`
          : source.matchedBy === 'externalId'
            ? `matches its externalId ${JSON.stringify(source.mappingValue)}`
            : 'names its id';
      return `via group ${JSON.stringify(source.groupDisplayName)} (mapping ${source.mappingId} ${how})`;
    }
  }
}

function describeRole(role: ResolvedRole): string {
  return `role ${JSON.stringify(role.roleName)} (${role.sources.map(describeSource).join('; ')})`;
}

function explainPermission(strategy: ResolutionStrategy, permission: Permission, roles: ResolvedRole[], roleById: Map<string, Role>): Omit<PermissionExplanation, 'key'> {
  const vote = (role: ResolvedRole): Effect | undefined => roleById.get(role.roleId)?.permissions[permission.key];
  const allowedBy = roles.filter((r) => vote(r) === 'allow');
  const deniedBy = roles.filter((r) => vote(r) === 'deny');
  const { value, decidedBy } = decide(strategy, allowedBy.length > 0, deniedBy.length > 0, permission.baseline);
  const reasons: string[] = [];
  if (decidedBy === 'allow') {
    for (const r of allowedBy) reasons.push(`allowed by ${describeRole(r)}`);
    for (const r of deniedBy) reasons.push(`the deny of ${describeRole(r)} is overridden: strategy most-permissive, any allow wins`);
  } else if (decidedBy === 'deny') {
    for (const r of deniedBy) reasons.push(`denied by ${describeRole(r)}`);
    for (const r of allowedBy) reasons.push(`the allow of ${describeRole(r)} is overridden: strategy deny-overrides, any deny wins`);
  } else {
    const whose = roles.length === 0 ? 'the user has no role' : 'none of the user\'s roles allows or denies it';
    reasons.push(`${whose}: the workspace baseline (${permission.baseline ? 'on' : 'off'}) applies`);
  }
  return { value, decidedBy, allowedBy, deniedBy, reasons };
}

/** Every permission of the catalogue with its value for the user and why. */
export function explain(model: AccessModel, user: UserFacts): Explanation {
  const exists = user.exists !== false;
  const { roles, usedDefaultRole } = resolveRoles(model, user);
  const roleById = new Map(model.roles.map((r) => [r.id, r]));
  const permissions = [...model.permissions].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((permission): PermissionExplanation => {
    const explained = explainPermission(model.strategy, permission, roles, roleById);
    if (!exists) return { ...explained, key: permission.key, value: false, decidedBy: 'deleted', reasons: ['the user does not exist: a deleted user holds nothing'] };
    if (!user.active) {
      return { ...explained, key: permission.key, value: false, decidedBy: 'inactive', reasons: ['the user is deactivated (active=false) and holds nothing', ...explained.reasons.map((r) => `if active: ${r}`)] };
    }
    return { key: permission.key, ...explained };
  });
  return {
    userId: user.id,
    exists,
    active: exists && user.active,
    strategy: model.strategy,
    usedDefaultRole,
    roles,
    permissions,
    granted: permissions.filter((p) => p.value).map((p) => p.key),
  };
}

/** Only the granted keys, sorted: what the recompute SQL stores in user_access.granted. */
export function grantedPermissions(model: AccessModel, user: UserFacts): string[] {
  return explain(model, user).granted;
}

/**
 * The roles a user holds of their own, directly or through groups — not the default role, which is
 * everyone else's — sorted by id; none while deactivated or deleted. What access.changed events
 * record and user_access.role_ids holds.
 */
export function ownRoleIds(model: AccessModel, user: UserFacts): string[] {
  if (user.exists === false || !user.active) return [];
  const { roles } = resolveRoles(model, user);
  return roles.filter((r) => r.sources.some((s) => s.type !== 'default')).map((r) => r.roleId).sort();
}

/** The difference between two sorted key sets, for access.changed events. */
export function diffGranted(before: readonly string[], after: readonly string[]): { granted: string[]; revoked: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { granted: after.filter((k) => !b.has(k)), revoked: before.filter((k) => !a.has(k)) };
}
