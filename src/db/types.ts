import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

// Row types of the tables created in migrations/. Kept by hand next to the migrations.

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, string | T, string | T>;

export interface WorkspacesTable {
  id: string;
  name: string;
  settings: Generated<Json>;
  created_at: Timestamp;
  scim_schema_version: Generated<number>;
  scim_unknown_attributes: Generated<'store' | 'reject'>;
}

// SCIM extension schemas and unknown attributes (migrations/2026120101_scim_extensions.ts).
export interface ScimExtensionSchemasTable {
  workspace_id: string;
  urn: string;
  name: string;
  description: Generated<string>;
  resource_types: Json;
  attributes: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ScimUnknownAttributesTable {
  workspace_id: string;
  resource_type: string;
  name: string;
  requests: Generated<number>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  workspace_id: string;
  scope: 'scim' | 'admin' | 'decision';
  role: string | null;
  description: string | null;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** Set when the token was rotated: its successor. */
  replaced_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OAuthClientsTable {
  id: string;
  workspace_id: string;
  description: string | null;
  secret_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface UsersTable {
  id: string;
  workspace_id: string;
  user_name: string;
  external_id: string | null;
  active: Generated<boolean>;
  resource: Json;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupsTable {
  id: string;
  workspace_id: string;
  display_name: string;
  external_id: string | null;
  resource: Json;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  workspace_id: string;
  created_at: Timestamp;
}

export interface Database {
  workspaces: WorkspacesTable;
  scim_extension_schemas: ScimExtensionSchemasTable;
  scim_unknown_attributes: ScimUnknownAttributesTable;
  api_tokens: ApiTokensTable;
  oauth_clients: OAuthClientsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  audit_events: AuditEventsTable;
  access_model_versions: AccessModelVersionsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  audit_logs: AuditLogsTable;
  audit_tree_nodes: AuditTreeNodesTable;
  audit_signing_keys: AuditSigningKeysTable;
  permissions: PermissionsTable;
  roles: RolesTable;
  role_permissions: RolePermissionsTable;
  role_mappings: RoleMappingsTable;
  user_roles: UserRolesTable;
  workspace_access_settings: WorkspaceAccessSettingsTable;
  user_access: UserAccessTable;
  policies: PoliciesTable;
  policy_versions: PolicyVersionsTable;
  policy_rules: PolicyRulesTable;
  policy_assignments: PolicyAssignmentsTable;
  user_policy: UserPolicyTable;
  audit_retention_settings: AuditRetentionSettingsTable;
  audit_checkpoint_members: AuditCheckpointMembersTable;
  audit_checkpoint_access: AuditCheckpointAccessTable;
  scim_request_stats: ScimRequestStatsTable;
  scim_request_failures: ScimRequestFailuresTable;
  review_campaigns: ReviewCampaignsTable;
  review_reviewers: ReviewReviewersTable;
  review_items: ReviewItemsTable;
}

/** An access review campaign (migrations/2026120501, src/services/review-campaigns.service.ts). */
export interface ReviewCampaignsTable {
  id: string;
  workspace_id: string;
  name: string;
  subject_kind: 'permission' | 'role' | 'group';
  subject_id: string;
  subject_name: string;
  due_at: Timestamp;
  status: 'open' | 'closed';
  opened_at: Timestamp;
  opened_by: Json;
  opened_head: Json;
  closed_at: Timestamp | null;
  closed_by: Json | null;
  evidence: Json | null;
}

export interface ReviewReviewersTable {
  campaign_id: string;
  /** `user:<id>` or `token:<id>`. */
  principal: string;
  display: string;
}

/** A holder under review, and the decision on them. */
export interface ReviewItemsTable {
  campaign_id: string;
  user_id: string;
  user_name: string | null;
  since: Timestamp | null;
  reason: string;
  granted_by_event: string | null;
  decision: 'keep' | 'revoke' | null;
  comment: string | null;
  decided_by: string | null;
  decided_by_display: string | null;
  decided_at: Timestamp | null;
}

/** Requests of a SCIM client in an hour, by outcome: `ok`, a SCIM error type or status, `rate_limited`. */
export interface ScimRequestStatsTable {
  workspace_id: string;
  token_id: string;
  hour: Timestamp;
  outcome: string;
  requests: number;
}

/** A failing SCIM request, its body redacted (src/services/provisioning-health.service.ts). */
export interface ScimRequestFailuresTable {
  id: string;
  workspace_id: string;
  token_id: string;
  occurred_at: Timestamp;
  method: string;
  path: string;
  status: number;
  scim_type: string | null;
  detail: string;
  body: Json | null;
}

export type Workspace = Selectable<WorkspacesTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type NewGroupRow = Insertable<GroupsTable>;

// Audit trail (migrations/2026112102_audit.ts, 2026120201_audit_merkle_log.ts). Events are
// inserted by src/repositories/audit.repository.ts and sealed by src/audit/sealer.ts.
export interface AuditEventsTable {
  id: string;
  workspace_id: string;
  /** Insert order (per group and user: commit order); gaps allowed. */
  seq: Generated<number>;
  occurred_at: Timestamp;
  actor_type: 'scim' | 'admin' | 'system' | 'cli';
  actor_id: string;
  actor_display: string | null;
  request_id: string | null;
  event_type: string;
  target_type: 'user' | 'group' | 'role' | 'permission' | 'mapping' | 'workspace' | 'token' | 'policy' | 'webhook' | 'review';
  target_id: string;
  data: Json;
  cause_id: string | null;
  /** The pre-Merkle hash chain: set on events appended before 2026120201 only. */
  prev_hash: string | null;
  hash: string | null;
  xid: Generated<string>;
  /** Set once by the sealer. */
  leaf_index: number | null;
}

export interface AuditLogsTable {
  workspace_id: string;
  tree_size: Generated<number>;
  root_hash: Uint8Array | null;
  /** The latest checkpoint note (signed when a key is configured) and the tree size it states. */
  checkpoint: string | null;
  checkpoint_size: Generated<number>;
  sealed_at: Timestamp | null;
  /** Events with seq at or below this were removed by the retention purge. */
  purged_through: Generated<number>;
  /** End of the pre-Merkle chain, and where its survivors start after a purge. */
  chain_seq: Generated<number>;
  chain_hash: Generated<string>;
  anchor_seq: Generated<number>;
  anchor_hash: Generated<string>;
}

export interface AuditTreeNodesTable {
  workspace_id: string;
  level: number;
  index: number;
  hash: Uint8Array;
}

export interface AuditSigningKeysTable {
  verifier_key: string;
  name: string;
  first_used_at: Timestamp;
  last_used_at: Timestamp;
}

/** Bumped by triggers on every change to a workspace's access model (migrations/2026120302). */
export interface AccessModelVersionsTable {
  workspace_id: string;
  version: number;
}

// Webhooks (migrations/2026120301_webhooks.ts): src/webhooks/.
export interface WebhookEndpointsTable {
  id: string;
  workspace_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: Generated<boolean>;
  secret: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  disabled_reason: string | null;
  next_attempt_at: Timestamp;
  failing_since: Timestamp | null;
  lease_owner: string | null;
  lease_until: Timestamp | null;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  event_seq: number;
  status: Generated<'pending' | 'delivered'>;
  attempts: Generated<number>;
  generation: Generated<number>;
  created_at: Timestamp;
  last_attempt_at: Timestamp | null;
  delivered_at: Timestamp | null;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempted_at: Timestamp;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export type AuditEventRow = Selectable<AuditEventsTable>;

// Access model (migrations/2026112103_access.ts). Written by src/repositories/access.repository.ts.
export type PermissionEffect = 'allow' | 'deny';
export type ResolutionStrategy = 'most-permissive' | 'deny-overrides';

export interface PermissionsTable {
  workspace_id: string;
  key: string;
  description: Generated<string>;
  baseline: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolesTable {
  id: string;
  workspace_id: string;
  name: string;
  description: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolePermissionsTable {
  role_id: string;
  workspace_id: string;
  permission_key: string;
  effect: PermissionEffect;
}

export interface RoleMappingsTable {
  id: string;
  workspace_id: string;
  role_id: string;
  group_id: string | null;
  group_external_id: string | null;
  group_display_name: string | null;
  created_at: Timestamp;
}

export interface UserRolesTable {
  user_id: string;
  role_id: string;
  workspace_id: string;
  created_at: Timestamp;
}

export interface WorkspaceAccessSettingsTable {
  workspace_id: string;
  strategy: Generated<ResolutionStrategy>;
  default_role_id: string | null;
  updated_at: Timestamp;
}

export interface UserAccessTable {
  user_id: string;
  workspace_id: string;
  granted: Generated<string[]>;
  role_ids: Generated<string[]>;
  updated_at: Timestamp;
}

export type PermissionRow = Selectable<PermissionsTable>;
export type RoleRow = Selectable<RolesTable>;
export type RoleMappingRow = Selectable<RoleMappingsTable>;

// Managed policies (migrations/2026112104_policies.ts). Written only by src/repositories/policies.repository.ts.
export interface PoliciesTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string | null;
  current_version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Immutable: a trigger refuses UPDATE, and DELETE except as the cascade of deleting the policy. */
export interface PolicyVersionsTable {
  policy_id: string;
  version: number;
  toml: string;
  parsed: Json;
  /** Defaults to []. */
  warnings: ColumnType<unknown[], string | unknown[] | undefined, string | unknown[]>;
  sha256: string;
  created_at: Timestamp;
  created_by: string;
}

export interface PolicyRulesTable {
  workspace_id: string;
  position: number;
  /** null once the group is deleted (ON DELETE SET NULL): the rule then matches nobody. */
  group_id: string | null;
  group_name: string;
  policy_id: string;
}

export interface PolicyAssignmentsTable {
  workspace_id: string;
  fallback_policy_id: string | null;
  version: Generated<number>;
  updated_at: Timestamp;
}

export interface UserPolicyTable {
  user_id: string;
  workspace_id: string;
  policy_id: string;
  policy_version: number;
  source: 'rule' | 'fallback';
  rule_group_id: string | null;
  updated_at: Timestamp;
}


export type PolicyRow = Selectable<PoliciesTable>;
export type PolicyVersionRow = Selectable<PolicyVersionsTable>;

// Audit retention (migrations/2026112105_audit_retention.ts): the setting, and the checkpoint a
// purge leaves. The checkpoint tables are written only by the purge (a trigger refuses others).
export interface AuditRetentionSettingsTable {
  workspace_id: string;
  retention_days: number | null;
  updated_at: Timestamp;
}

export interface AuditCheckpointMembersTable {
  workspace_id: string;
  group_id: string;
  user_id: string;
  since: Timestamp;
}

export interface AuditCheckpointAccessTable {
  workspace_id: string;
  user_id: string;
  granted: string[];
  /** The roles the folded events left the user with; null when they recorded none. */
  role_ids: string[] | null;
  since: Timestamp;
}
