// The audit contract every write path uses. Services build NewAuditEvent values and hand
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

export type AuditTargetType = 'user' | 'group' | 'role' | 'permission' | 'mapping' | 'workspace' | 'token' | 'policy' | 'webhook' | 'review';
export const AUDIT_TARGET_TYPES: readonly AuditTargetType[] = [
  'user',
  'group',
  'role',
  'permission',
  'mapping',
  'workspace',
  'token',
  'policy',
  'webhook',
  'review',
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
  /**
   * A uuid pre-assigned by the caller, so later events of the same call can name it as causeId.
   * Prefer newAuditEventId() (UUIDv7: time-ordered, cheaper to index); any uuid is accepted.
   */
  id?: string;
}

/**
 * The catalogue of event types, `<target>.<verb>`, with the target each one names (comments).
 * Member events target the GROUP and carry the user in data.userId: a group's history is the
 * target index, a user's membership history the data->>'userId' index (both in the migration).
 * Effective-access events target the USER and name their cause in causeId.
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
  // target permission (the permission catalogue is data; targetId is the permission key)
  'permission.created',
  'permission.updated',
  'permission.deleted',
  // target mapping (group → role)
  'mapping.created',
  'mapping.deleted',
  // target workspace
  'workspace.created',
  'workspace.default_role_changed',
  'workspace.settings_changed',
  'access.recomputed',
  'policy.rules_changed',
  'policy.fallback_changed',
  'audit.purged',
  'scim.extension_declared',
  'scim.extension_changed',
  'scim.extension_removed',
  // target token
  'token.created',
  'token.revoked',
  'token.rotated',
  'oauth_client.created',
  'oauth_client.revoked',
  // target policy
  'policy.created',
  'policy.updated',
  'policy.deleted',
  'policy.version_created',
  // target webhook (an endpoint)
  'webhook.created',
  'webhook.updated',
  'webhook.secret_rotated',
  'webhook.deleted',
  'webhook.disabled',
  'webhook.redelivery_requested',
  'webhook.replay_requested',
  // target review (a campaign)
  'review.opened',
  'review.decided',
  'review.closed',
  // target user, derived: causeId = the event that changed it
  'access.changed',
  'policy.effective_changed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Events about webhook endpoints: what leaves the bridge, never who may do what. */
export const WEBHOOK_EVENT_TYPES: readonly AuditEventType[] = AUDIT_EVENT_TYPES.filter((t) => t.startsWith('webhook.'));
/** Events of access review campaigns: decisions about access are carried out in the IdP, not here. */
export const REVIEW_EVENT_TYPES: readonly AuditEventType[] = AUDIT_EVENT_TYPES.filter((t) => t.startsWith('review.'));

/** An attribute change: the value before and after (SCIM attribute path → change). */
export interface AttributeChange {
  from?: unknown;
  to?: unknown;
}

/**
 * Data shape per event type: what a reader needs to explain the change, never a password, token
 * or secret (the repository redacts keys that look like one, as a second line of defence).
 * Optional fields are written by some paths only.
 */
export interface AuditEventData {
  /** `attributes`: the stored SCIM resource (never the password). */
  'user.created': { userName: string; attributes?: Record<string, unknown> };
  'user.updated': { userName: string; changes: Record<string, AttributeChange> };
  'user.deactivated': { userName: string };
  'user.reactivated': { userName: string };
  /** Preceded by one group.member_removed (reason 'user.deleted') per group the user was in. */
  'user.deleted': { userName: string };
  'user.role_assigned': { roleId: string; roleName?: string };
  /** reason 'role_deleted' when the role went away rather than the assignment. */
  'user.role_unassigned': { roleId: string; roleName?: string; reason?: string };

  'group.created': { displayName: string; externalId?: string | null };
  'group.renamed': { from: string; to: string };
  'group.updated': { changes: Record<string, AttributeChange> };
  /** Members of a deleted group: group.member_removed events should precede it, so replay stays exact. */
  'group.deleted': { displayName: string; externalId?: string | null };
  /** One event per member, even for a 50,000-member PUT. */
  'group.member_added': { userId: string; reason?: string };
  'group.member_removed': { userId: string; reason?: string };

  'role.created': { name: string; description?: string; permissions: Record<string, unknown> };
  /** before/after hold only the changed fields (`permissions` is the whole key → effect map). */
  'role.updated': { name: string; changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'role.deleted': { name: string; description?: string; permissions?: Record<string, unknown> };

  'permission.created': { key: string; description?: string; baseline?: boolean };
  'permission.updated': { key: string; changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'permission.deleted': { key: string; description?: string; baseline?: boolean; roles?: unknown };

  /** groupId: the group the mapping names (or the one it matches), for a group's history. */
  'mapping.created': { roleId: string; roleName?: string; groupId: string | null; matchedBy?: string; value?: string; matchedGroupIds?: string[] };
  'mapping.deleted': { roleId: string; roleName?: string; groupId: string | null; matchedBy?: string; value?: string; matchedGroupIds?: string[] };

  'workspace.created': { id: string; name: string };
  'workspace.default_role_changed': { before: string | null; after: string | null; afterName?: string | null };
  'workspace.settings_changed': { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  /** A bulk recomputation; its access.changed events point at it. */
  'access.recomputed': { changedUsers: number };
  /** Ordered rule list (position, group, policy) and fallback, before and after. */
  'policy.rules_changed': { before: unknown[]; after: unknown[]; version?: number };
  'policy.fallback_changed': { before: { policyId: string; policyName: string } | null; after: { policyId: string; policyName: string } | null; version?: number };
  /** Written by the retention purge; anchorHash keeps the remaining chain verifiable. */
  /** The purge's checkpoint: events through throughSeq were folded into it and deleted. */
  'audit.purged': {
    throughSeq: number;
    throughAt: string;
    anchorHash: string;
    deleted: number;
    before: string;
    retentionDays?: number;
    checkpoint: { members: number; access: number; sha256: string };
  };

  /** A SCIM extension schema the workspace declared, changed or removed; `forced` when values were held. */
  'scim.extension_declared': { urn: string; after: Record<string, unknown> };
  'scim.extension_changed': { urn: string; before: Record<string, unknown>; after: Record<string, unknown>; forced?: boolean; affected?: Record<string, number> };
  'scim.extension_removed': { urn: string; before: Record<string, unknown>; forced?: boolean; affected?: Record<string, number> };

  /** Describes the token, never its secret or its hash. */
  'token.created': { id: string; scope: 'scim' | 'admin' | 'decision'; role?: string | null; description?: string | null; expiresAt?: string | null };
  'token.revoked': { id: string; scope: 'scim' | 'admin' | 'decision'; role?: string | null; description?: string | null };
  /** The old token keeps working until `oldExpiresAt`; `id` is the new token (also recorded as token.created). */
  'token.rotated': { id: string; replaces: string; oldExpiresAt: string };
  /** An OAuth 2.0 client (client credentials grant); never its secret. */
  'oauth_client.created': { id: string; description: string | null };
  'oauth_client.revoked': { id: string; description: string | null };

  'policy.created': { name: string; description?: string | null };
  'policy.updated': { name: string; changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'policy.deleted': { name: string; versions?: number };
  /** The TOML text is recorded (versions die with their policy, the trail does not). */
  'policy.version_created': { name: string; version: number; sha256: string; toml: string; warnings: number };

  /** A webhook endpoint: never its secret. `changed` names what an update or rotation touched. */
  'webhook.created': { url: string; eventTypes: string[]; enabled: boolean; description?: string | null };
  'webhook.updated': { url: string; changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  'webhook.secret_rotated': { url: string };
  'webhook.deleted': { url: string; eventTypes: string[] };
  /** By the delivery worker once an endpoint has failed for the whole retry period. */
  'webhook.disabled': { url: string; reason: string; failingSince: string; attempts: number };
  'webhook.redelivery_requested': { url: string; deliveryId: string; eventId: string };
  /** Every sealed event from `fromSeq` on that the endpoint subscribes to is sent again. */
  'webhook.replay_requested': { url: string; fromSeq: number; deliveries: number };

  /**
   * Sorted permission keys the user holds before and after, and the difference; the ids of the
   * roles they hold before and after (none while deactivated). One per user whose permissions or
   * roles changed. Events recorded before migration 2026120501 carry no roles.
   */
  'access.changed': { before: string[]; after: string[]; granted: string[]; revoked: string[]; rolesBefore?: string[]; rolesAfter?: string[] };
  /** The managed policy that applies to the user, before and after. */
  'policy.effective_changed': { before: unknown; after: unknown };
}

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
  /** The pre-Merkle chain's links: set on events appended before the Merkle log only. */
  prevHash: string | null;
  hash: string | null;
  /** The event's leaf in the workspace's Merkle tree; null until the sealer reaches it. */
  leafIndex: number | null;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Sealed events checked against their leaves. */
  checked: number;
  /** The first problem; seq and id name the event when one is to blame. */
  firstBroken?: { seq: number | null; id: string | null; reason: AuditBreakReason };
}

export type AuditBreakReason =
  | 'leaf_mismatch' // the event no longer hashes to its leaf: its fields were changed after sealing
  | 'prev_hash_mismatch' // (old chain) the stored link does not name the previous event's hash
  | 'hash_mismatch' // (old chain) the event's fields no longer hash to its chain hash
  | 'head_mismatch' // (old chain) the chain does not end where the log says it ends
  | 'tree_mismatch' // the stored leaves do not hash to the stored root, or a leaf is missing
  | 'events_missing' // fewer events than leaves, beyond what the retention purge recorded removing
  | 'checkpoint_mismatch'; // the latest checkpoint does not state the tree, or its signature fails
