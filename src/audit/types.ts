// The audit contract every write path uses (issue 5). Services build NewAuditEvent values and hand
// them to appendAuditEvents() inside the transaction that makes the change.

export type AuditActorType = 'scim' | 'admin' | 'system' | 'cli';
export const AUDIT_ACTOR_TYPES: readonly AuditActorType[] = ['scim', 'admin', 'system', 'cli'];

/** Who made the change. `id` is a token id, an admin subject or 'system' — never a secret. */
export interface AuditActor {
  type: AuditActorType;
  id: string;
  display?: string;
}

export interface AuditContext {
  workspaceId: string;
  actor: AuditActor;
  requestId?: string;
}

export type AuditTargetType = 'user' | 'group' | 'role' | 'permission' | 'mapping' | 'workspace' | 'token' | 'policy';
export const AUDIT_TARGET_TYPES: readonly AuditTargetType[] = [
  'user',
  'group',
  'role',
  'permission',
  'mapping',
  'workspace',
  'token',
  'policy',
];

export interface NewAuditEvent {
  /** One of AUDIT_EVENT_TYPES (new types are added to the catalogue, with their data shape below). */
  type: string;
  targetType: AuditTargetType;
  targetId: string;
  /** Shape per type: AuditEventData below. Secret-looking keys are redacted before storage. */
  data?: Record<string, unknown>;
  /** Id of the event that caused this one: effective-access events point at the membership/role/mapping event. */
  causeId?: string;
  /** A uuid pre-assigned by the caller, so later events of the same call can name it as causeId. */
  id?: string;
}

/**
 * The catalogue of event types. `<target>.<verb>`; the target of each is fixed (comment).
 * Member events target the GROUP and carry the user in data.userId: a group's history is the
 * target index, a user's membership history the data->>'userId' index (both in the migration).
 */
export const AUDIT_EVENT_TYPES = [
  // target user
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'user.role_assigned',
  'user.role_unassigned',
  // target group
  'group.created',
  'group.renamed',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  // target role
  'role.created',
  'role.updated',
  'role.deleted',
  // target permission (the permission catalogue is data)
  'permission.created',
  'permission.updated',
  'permission.deleted',
  // target mapping (group → role)
  'mapping.created',
  'mapping.deleted',
  // target workspace
  'workspace.default_role_changed',
  'workspace.settings_changed',
  'audit.purged',
  // target token
  'token.created',
  'token.revoked',
  // target policy
  'policy.created',
  'policy.updated',
  'policy.deleted',
  'policy.rules_changed',
  'policy.version_created',
  'policy.fallback_changed',
  // target user: derived effective policy (first matching rule, else the fallback), causeId = the change
  'policy.effective_changed',
  // target user: derived effective access, causeId = the event that changed it
  'access.changed',
  'access.policy_changed',
  // target workspace: an operator-requested full recompute that found user_access out of date;
  // the access.changed events it repaired name it as their cause
  'access.recomputed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Why a membership row appeared or disappeared (data.reason of member events). */
export type MembershipChangeReason = 'patch' | 'put' | 'create' | 'group_deleted' | 'user_deleted';

/**
 * Data shape per event type. Only the attributes a reader needs to explain the change; never a
 * password, token or secret (the repository redacts keys that look like one, as a second line).
 */
export interface AuditEventData {
  'user.created': { userName: string; externalId?: string | null; active: boolean };
  /** `changed` lists attribute paths; before/after hold only those attributes (password never). */
  'user.updated': { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'user.deactivated': { userName: string };
  'user.reactivated': { userName: string };
  'user.deleted': { userName: string; externalId?: string | null };
  'user.role_assigned': { roleId: string };
  'user.role_unassigned': { roleId: string };

  'group.created': { displayName: string; externalId?: string | null };
  'group.renamed': { before: string; after: string };
  'group.updated': { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  /** Followed by one group.member_removed (reason 'group_deleted') per member, so replay stays exact. */
  'group.deleted': { displayName: string; memberCount: number };
  'group.member_added': { userId: string; reason?: MembershipChangeReason };
  'group.member_removed': { userId: string; reason?: MembershipChangeReason };

  'role.created': { name: string; permissions: Record<string, unknown> };
  'role.updated': { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'role.deleted': { name: string };

  'permission.created': { key: string; description?: string };
  'permission.updated': { key: string; before: Record<string, unknown>; after: Record<string, unknown> };
  'permission.deleted': { key: string };

  'mapping.created': { groupId: string; roleId: string };
  'mapping.deleted': { groupId: string; roleId: string };

  'workspace.default_role_changed': { before: string | null; after: string | null };
  'workspace.settings_changed': { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  /** Written by the retention purge; the anchor keeps the remaining chain verifiable. */
  'audit.purged': { throughSeq: number; anchorHash: string; deleted: number; before: string };

  /** Describes the token, never its secret or its hash. */
  'token.created': { scope: 'scim' | 'admin'; role?: string | null; description?: string | null };
  'token.revoked': { scope: 'scim' | 'admin' };

  'policy.created': { name: string; description?: string | null };
  'policy.updated': { name: string; changed: string[]; before?: Record<string, unknown>; after?: Record<string, unknown> };
  /** versions: how many versions went with the policy (their texts are in policy.version_created). */
  'policy.deleted': { name: string; versions?: number };
  /** Target workspace. The whole ordered list before and after ({ position, groupId, groupName, policyId, policyName }). */
  'policy.rules_changed': { before: unknown; after: unknown; version?: number };
  /** Target policy. The saved text itself: versions are deleted with their policy, the trail keeps them. */
  'policy.version_created': { name: string; version: number; sha256: string; toml: string; warnings: number };
  /** Target workspace. */
  'policy.fallback_changed': { before: { policyId: string; policyName: string } | null; after: { policyId: string; policyName: string } | null; version: number };
  /** Target user. null = no policy (deactivated or deleted user, or no rule and no fallback). */
  'policy.effective_changed': { before: EffectivePolicyData | null; after: EffectivePolicyData | null };

  /** Sorted permission keys the user holds before and after, and the difference. */
  'access.changed': { before: string[]; after: string[]; granted: string[]; revoked: string[] };
  'access.policy_changed': { before: string | null; after: string | null };
  /** src/services/access.service.ts repairEffectiveAccess; recorded only when something differed. */
  'access.recomputed': { changedUsers: number };
}

// Access-model events as src/services/access.service.ts writes them (beyond the shapes above):
// - mapping.created / mapping.deleted: { roleId, roleName, matchedBy: 'id' | 'externalId' |
//   'displayName', value, groupId (the group named by id, else the single group the reference
//   matches now, else null), matchedGroupIds }. A displayName mapping can exist before its group.
// - role.updated: data.name besides changed/before/after; permission settings under `permissions`.
// - user.role_assigned / user.role_unassigned: data.roleName besides roleId; reason 'role_deleted'
//   when the role's deletion removed the assignment.
// - permission.deleted: data.roles, the settings ({ roleId, effect }) that went with it.
// - workspace.default_role_changed: data.afterName besides before/after (role ids).
// - access.changed: causeId is the member event (membership), group.renamed / group.updated (a
//   mapping names the group by displayName / externalId), user.created / deactivated / reactivated /
//   deleted, role.updated / role.deleted, mapping.*, user.role_*, permission.*, workspace.*.

/** A user's effective policy as policy.effective_changed records it. */
export interface EffectivePolicyData {
  policyId: string;
  policyName: string;
  version: number;
  source: 'rule' | 'fallback';
  /** The group of the rule that matched; null for the fallback. */
  groupId: string | null;
}

// Policy events as src/services/policies.service.ts writes them:
// - policy.effective_changed: one per user whose enforced document changed (another policy, another
//   version, or none), causeId = the member event, user.created / deactivated / reactivated /
//   deleted, policy.rules_changed, policy.fallback_changed or policy.version_created. A user who
//   keeps the same policy and version through another rule gets no event.

/** A stored event, as read back (repositories, verify, export). */
export interface AuditEvent {
  id: string;
  workspaceId: string;
  seq: number;
  occurredAt: Date;
  actor: AuditActor;
  requestId: string | null;
  type: string;
  targetType: AuditTargetType;
  targetId: string;
  data: Record<string, unknown>;
  causeId: string | null;
  prevHash: string;
  hash: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Events whose links were checked. */
  checked: number;
  /** The first bad link; id is null when the event is missing (a gap, or a truncated tail). */
  firstBroken?: { seq: number; id: string | null; reason: AuditBreakReason };
}

export type AuditBreakReason =
  | 'seq_gap' // an event is missing (or the first event does not follow the anchor)
  | 'prev_hash_mismatch' // the stored link does not name the previous event's hash
  | 'hash_mismatch' // the event's fields were changed after it was written
  | 'head_mismatch'; // the chain head names events that are not there (tail deleted) or a different hash
