import type { Transaction } from 'kysely';
import { REVIEW_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type AuditContext, type NewAuditEvent } from '../audit/types.js';
import { consistentRead, type Db, type Executor } from '../db/index.js';
import type { Database } from '../db/types.js';
import { type ParsedPolicy } from '../policies/parse.js';
import { resolvePolicy, type PolicyRef, type RuleView, type SkippedRule } from '../policies/resolve.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import { isUuid } from '../repositories/ids.js';
import * as repo from '../repositories/policies.repository.js';
import { notFound } from './admin-errors.js';
import { type CommittedEvent, type Projector } from './commit.js';
import { resolveGroupRef, resolveUserRow } from './admin-directory.service.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';
import { assignmentView } from './policy-assignment.service.js';

// Which managed policy each user gets: the projector that keeps user_policy current after every
// write (policy.effective_changed per user whose enforced document changed, caused by the
// write's event), and the look-ups "which policy does this user / group get, and why".

type Trx = Transaction<Database>;

// ---- the projector ---------------------------------------------------------------------------

/** The event an effective-policy change is attributed to: one for all users, or per user. */
export type PolicyCause = string | ((userId: string) => string);

/**
 * Recomputes the effective policy of `scope` set-based in SQL, updates user_policy, and appends
 * one `policy.effective_changed` event per user whose enforced document changed, with `causeId`
 * = the event of the change. Runs in the commit step, under its locks (src/services/commit.ts):
 * recomputes of one user run one after the other, so the last transaction to commit computes
 * from everything committed before it.
 */
export async function recomputeEffectivePolicy(trx: Trx, audit: AuditContext, scope: repo.PolicyScope, cause: PolicyCause): Promise<repo.PolicyChangeRow[]> {
  const changes = await repo.recomputeUserPolicies(trx, audit.workspaceId, scope);
  if (changes.length === 0) return [];
  const causeOf = typeof cause === 'string' ? () => cause : cause;
  await appendAuditEvents(
    trx,
    audit,
    changes.map((c): NewAuditEvent => ({ type: 'policy.effective_changed', targetType: 'user', targetId: c.userId, causeId: causeOf(c.userId), data: { before: c.before, after: c.after } })),
  );
  return changes;
}

const USER_POLICY_EVENTS = new Set(['user.created', 'user.deactivated', 'user.reactivated', 'user.deleted']);
const MEMBER_EVENTS = new Set(['group.member_added', 'group.member_removed']);

interface PolicyWork {
  scope: repo.PolicyScope;
  cause: PolicyCause;
}

/**
 * What a commit's events can have changed of effective policies, most decisive first (see
 * accessWork: the first recompute that changes a user is the one it is attributed to).
 */
async function policyWork(trx: Trx, workspaceId: string, events: readonly CommittedEvent[]): Promise<PolicyWork[]> {
  const assignment = events.filter((e) => e.type === 'policy.rules_changed' || e.type === 'policy.fallback_changed').pop();
  if (assignment) return [{ scope: 'workspace', cause: assignment.id }];
  const work: PolicyWork[] = [];
  // A new version reaches exactly the users the policy applies to now; a new policy applies to nobody yet.
  const created = new Set(events.filter((e) => e.type === 'policy.created').map((e) => e.targetId));
  for (const e of events) if (e.type === 'policy.version_created' && !created.has(e.targetId)) work.push({ scope: { policyId: e.targetId }, cause: e.id });

  const userCause = new Map<string, string>();
  for (const e of events) if (USER_POLICY_EVENTS.has(e.type) && !userCause.has(e.targetId)) userCause.set(e.targetId, e.id);
  if (userCause.size > 0) work.push({ scope: { userIds: [...userCause.keys()] }, cause: (userId) => userCause.get(userId)! });

  const memberCause = new Map<string, string>();
  const groupIds = new Set<string>();
  for (const e of events) {
    const userId = e.data?.userId;
    if (MEMBER_EVENTS.has(e.type) && typeof userId === 'string' && !userCause.has(userId) && !memberCause.has(userId)) {
      memberCause.set(userId, e.id);
      groupIds.add(e.targetId);
    }
  }
  // Policies follow only the groups rules name: membership of any other group cannot change one.
  // A group deleted in this commit no longer has its id on any rule (the delete nulled it), so
  // whether a rule named it is unknowable here: its former members are recomputed regardless.
  const deleted = events.some((e) => e.type === 'group.deleted' && groupIds.has(e.targetId));
  if (memberCause.size > 0 && (deleted || (await repo.rulesNameAnyGroup(trx, workspaceId, [...groupIds])))) {
    work.push({ scope: { userIds: [...memberCause.keys()] }, cause: (userId) => memberCause.get(userId)! });
  }
  return work;
}

export const policyProjector: Projector<repo.PolicyChangeRow> = {
  name: 'effective policy',
  dependsOn: ['policy.rules_changed', 'policy.fallback_changed', 'policy.version_created', ...USER_POLICY_EVENTS, ...MEMBER_EVENTS, 'group.deleted'],
  // Rules name groups by id, so renames change nothing; roles and permissions are another projection.
  ignores: [
    'user.updated',
    'user.role_assigned',
    'user.role_unassigned',
    'group.created',
    'group.renamed',
    'group.updated',
    'role.created',
    'role.updated',
    'role.deleted',
    'permission.created',
    'permission.updated',
    'permission.deleted',
    'mapping.created',
    'mapping.deleted',
    'workspace.default_role_changed',
    'workspace.settings_changed',
    'workspace.created',
    'access.recomputed',
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
    'access.changed',
    'policy.effective_changed',
  ],
  async project(trx, audit, events) {
    const changes: repo.PolicyChangeRow[] = [];
    for (const { scope, cause } of await policyWork(trx, audit.workspaceId, events)) changes.push(...(await recomputeEffectivePolicy(trx, audit, scope, cause)));
    return changes;
  },
};

// ---- look-ups ------------------------------------------------------------------------------


async function loadRulesAndFallback(db: Executor, workspaceId: string): Promise<{ rules: RuleView[]; fallback: PolicyRef | null }> {
  const view = await assignmentView(db, workspaceId);
  return {
    rules: view.rules.map((r) => ({ position: r.position, groupId: r.groupId, groupName: r.groupName, policyId: r.policy.id, policyName: r.policy.name, version: r.policy.version })),
    fallback: view.fallback ? { policyId: view.fallback.id, policyName: view.fallback.name, version: view.fallback.version } : null,
  };
}

export interface UserPolicyView {
  user: { id: string; userName: string; displayName: string | null; active: boolean };
  source: 'rule' | 'fallback' | 'none';
  /** The policy Codex enforces for the user, at its current version; null when none applies. */
  policy: { id: string; name: string; version: number; sha256: string } | null;
  matchedRule: { position: number; groupId: string; groupName: string } | null;
  /** Every rule before the one that decided, with why it did not match. */
  skippedRules: SkippedRule[];
  reason: string;
  /** The resolved document: exactly what Accept: application/toml returns. */
  toml: string | null;
  requirements: ParsedPolicy | null;
}

export async function userPolicy(db: Db, workspaceId: string, userRef: string): Promise<UserPolicyView> {
  return consistentRead(db, async (db) => {
    const user = await resolveUserRow(db, workspaceId, userRef);
    const [{ rules, fallback }, groupIds] = await Promise.all([loadRulesAndFallback(db, workspaceId), repo.groupIdsOfUser(db, user.id)]);
    const resolution = resolvePolicy({ active: user.active, groupIds: new Set(groupIds) }, rules, fallback);
    const document = resolution.policy ? await repo.findVersion(db, resolution.policy.policyId, resolution.policy.version) : undefined;
    const displayName = (user.resource).displayName;
    return {
      user: { id: user.id, userName: user.user_name, displayName: typeof displayName === 'string' ? displayName : null, active: user.active },
      source: resolution.source,
      policy: resolution.policy && document ? { id: resolution.policy.policyId, name: resolution.policy.policyName, version: resolution.policy.version, sha256: document.sha256 } : null,
      matchedRule: resolution.rule ? { position: resolution.rule.position, groupId: resolution.rule.groupId!, groupName: resolution.rule.groupName ?? '' } : null,
      skippedRules: resolution.skipped,
      reason: resolution.reason,
      toml: document?.toml ?? null,
      requirements: (document?.parsed) ?? null,
    };
  });
}

export interface GroupPolicyView {
  group: { id: string; displayName: string };
  /** The rule that names this group, if any, and the policy it assigns. */
  rule: { position: number; policy: { id: string; name: string; version: number } } | null;
  /** Earlier rules: a member who is also in one of their groups gets that rule's policy instead. */
  earlierRules: Array<{ position: number; groupId: string | null; groupName: string; policy: { id: string; name: string } }>;
  /** What a member of only this group gets. */
  policyForMembers: { id: string; name: string; version: number; source: 'rule' | 'fallback' } | null;
  /** What the members actually get, counted by outcome (a deactivated member gets none). */
  members: Array<{ count: number; active: boolean; source: 'rule' | 'fallback' | 'none'; policy: { id: string; name: string; version: number } | null; ruleGroupId: string | null }>;
}

export async function groupPolicy(db: Db, workspaceId: string, groupId: string): Promise<GroupPolicyView> {
  return consistentRead(db, async (db) => {
    const [group] = await repo.groupsByIds(db, workspaceId, [await resolveGroupRef(db, workspaceId, groupId)]);
    if (!group) throw notFound('group', groupId);
    const view = await assignmentView(db, workspaceId);
    const rule = view.rules.find((r) => r.groupId === group.id) ?? null;
    const earlier = view.rules.filter((r) => rule === null || r.position < rule.position);
    const outcomes = await repo.groupMemberOutcomes(db, workspaceId, group.id);
    return {
      group: { id: group.id, displayName: group.display_name },
      rule: rule ? { position: rule.position, policy: rule.policy } : null,
      earlierRules: rule ? earlier.map((r) => ({ position: r.position, groupId: r.groupId, groupName: r.groupName, policy: { id: r.policy.id, name: r.policy.name } })) : [],
      policyForMembers: rule ? { ...rule.policy, source: 'rule' } : view.fallback ? { ...view.fallback, source: 'fallback' } : null,
      members: outcomes.map((o) => ({
        count: Number(o.users),
        active: o.active,
        source: o.source ?? 'none',
        policy: o.policy_id ? { id: o.policy_id, name: o.policy_name ?? '', version: Number(o.policy_version) } : null,
        ruleGroupId: o.rule_group_id,
      })),
    };
  });
}

export interface PolicyUser {
  id: string;
  userName: string;
  displayName: string | null;
  version: number;
  source: 'rule' | 'fallback';
  ruleGroupId: string | null;
}

export async function policyUsers(db: Db, workspaceId: string, policyId: string, query: { cursor?: string; limit: number; includeTotal?: boolean }): Promise<Page<PolicyUser> & { total?: number }> {
  return consistentRead(db, async (db) => {
    const policy = await repo.findPolicy(db, workspaceId, policyId);
    if (!policy) throw notFound('policy', policyId);
    const after = decodeCursor(query.cursor, 1, ([id]) => typeof id === 'string' && isUuid(id))?.[0] as string | undefined;
    const rows = await repo.policyUsersPage(db, workspaceId, policy.id, after, rowsToRead(query.limit));
    const { rows: shown, nextCursor } = keysetPage(rows, query.limit, (r) => [r.id]);
    const items = shown.map((r) => ({
      id: r.id,
      userName: r.user_name,
      displayName: r.display_name,
      version: r.policy_version,
      source: r.source,
      ruleGroupId: r.rule_group_id,
    }));
    const page: Page<PolicyUser> & { total?: number } = { items, nextCursor };
    if (query.includeTotal) page.total = await repo.countPolicyUsers(db, workspaceId, policy.id);
    return page;
  });
}
