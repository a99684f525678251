import { type AuditContext } from '../audit/types.js';
import { type Db, type Executor } from '../db/index.js';
import { isUuid } from '../repositories/ids.js';
import * as repo from '../repositories/policies.repository.js';
import { invalid, preconditionRequired } from './admin-errors.js';
import { commit } from './commit.js';
import { checkIfMatch, type PolicyWrite } from './policies.service.js';

// The ordered rules and the fallback that assign managed policies to groups: each change one
// transaction with its audit event, the effective-policy projector recomputing whom it affects.

export interface RuleOut {
  position: number;
  /** null when the group was deleted: the rule matches nobody until it is removed. */
  groupId: string | null;
  groupName: string;
  groupDeleted: boolean;
  policy: { id: string; name: string; version: number };
}

export interface AssignmentView {
  /** Send back as If-Match (the ETag) to change the rules or the fallback. */
  version: number;
  rules: RuleOut[];
  fallback: { id: string; name: string; version: number } | null;
}

export async function assignmentView(db: Executor, workspaceId: string): Promise<AssignmentView> {
  const [assignment, rules] = await Promise.all([repo.findAssignment(db, workspaceId), repo.listRules(db, workspaceId)]);
  const fallbackRow = assignment?.fallback_policy_id ? await repo.findPolicy(db, workspaceId, assignment.fallback_policy_id) : undefined;
  return {
    version: assignment?.version ?? 0,
    rules: rules.map((r) => ({
      position: r.position,
      groupId: r.group_id,
      groupName: r.group_name,
      groupDeleted: !r.group_exists,
      policy: { id: r.policy_id, name: r.policy_name, version: r.policy_version },
    })),
    fallback: fallbackRow ? { id: fallbackRow.id, name: fallbackRow.name, version: fallbackRow.current_version } : null,
  };
}

export async function getAssignment(db: Executor, workspaceId: string): Promise<AssignmentView> {
  return assignmentView(db, workspaceId);
}

export interface RuleInput {
  groupId: string;
  policyId: string;
}

function ruleRecord(r: { position: number; groupId: string | null; groupName: string; policyId: string; policyName: string }) {
  return { position: r.position, groupId: r.groupId, groupName: r.groupName, policyId: r.policyId, policyName: r.policyName };
}

/**
 * Replaces the whole ordered rule list in one transaction. `ifMatch` (required) must name the
 * assignment's current version: of two admins reordering from the same version, the second gets
 * 412 and must read the first's order before trying again.
 */
export async function replaceRules(db: Db, audit: AuditContext, rules: readonly RuleInput[], ifMatch: string | undefined): Promise<PolicyWrite<AssignmentView>> {
  if (ifMatch === undefined) throw preconditionRequired('If-Match is required: send the ETag (version) of GET /policy-rules');
  // The order of rules decides who gets which policy: a reorder must name the version it was made
  // from, so `*` (any version) would defeat the check the header is required for.
  if (ifMatch.split(',').some((tag) => tag.trim() === '*')) throw preconditionRequired('If-Match: * is not accepted here: send the ETag (version) of GET /policy-rules');
  // The route's schema checks the shape (ids, at most MAX_RULES); what it cannot say is checked here.
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const key = r.groupId.toLowerCase();
    const earlier = seen.get(key);
    // A second rule for a group could never match: first match wins.
    if (earlier !== undefined) throw invalid(`rules.${i}.groupId`, `rules[${i}].groupId repeats the group of rules[${earlier}]; a later rule for the same group could never match`);
    seen.set(key, i);
  });
  let changes = 0;
  await db.transaction().execute(async (trx) => {
    const assignment = await repo.lockAssignment(trx, audit.workspaceId);
    checkIfMatch(ifMatch, assignment.version, 'policy rules');
    const [groups, policies, before] = await Promise.all([
      repo.groupsByIds(trx, audit.workspaceId, rules.map((r) => r.groupId), true),
      repo.policiesByIds(trx, audit.workspaceId, rules.map((r) => r.policyId), true),
      repo.listRules(trx, audit.workspaceId),
    ]);
    const groupName = new Map(groups.map((g) => [g.id, g.display_name]));
    const policyName = new Map(policies.map((p) => [p.id, p.name]));
    const resolved = rules.map((r, i) => {
      const groupId = r.groupId.toLowerCase();
      const policyId = r.policyId.toLowerCase();
      const name = groupName.get(groupId);
      if (name === undefined) throw invalid(`rules.${i}.groupId`, `rules[${i}].groupId: no group ${JSON.stringify(r.groupId)} in this workspace`);
      if (!policyName.has(policyId)) throw invalid(`rules.${i}.policyId`, `rules[${i}].policyId: no policy ${JSON.stringify(r.policyId)} in this workspace`);
      return { position: i + 1, groupId, groupName: name, policyId, policyName: policyName.get(policyId)! };
    });
    const beforeRecords = before.map((r) => ruleRecord({ position: r.position, groupId: r.group_id, groupName: r.group_name, policyId: r.policy_id, policyName: r.policy_name }));
    const afterRecords = resolved.map(ruleRecord);
    if (JSON.stringify(beforeRecords) === JSON.stringify(afterRecords)) return; // the same order again: nothing to record
    await repo.replaceRules(trx, audit.workspaceId, resolved);
    const updated = await repo.updateAssignment(trx, audit.workspaceId, {});
    const committed = await commit(trx, audit, [
      { type: 'policy.rules_changed', targetType: 'workspace', targetId: audit.workspaceId, data: { before: beforeRecords, after: afterRecords, version: updated.version } },
    ]);
    changes = committed.policyChanges.length;
  });
  return { result: await assignmentView(db, audit.workspaceId), effectivePolicyChanges: changes };
}

/** Sets (policyId) or clears (null) the fallback policy. `ifMatch` is optional here. */
export async function setFallback(db: Db, audit: AuditContext, policyId: string | null, ifMatch?: string): Promise<PolicyWrite<AssignmentView>> {
  if (policyId !== null && !isUuid(policyId)) throw invalid('policyId', 'policyId must be a policy id (uuid)');
  let changes = 0;
  await db.transaction().execute(async (trx) => {
    const assignment = await repo.lockAssignment(trx, audit.workspaceId);
    checkIfMatch(ifMatch, assignment.version, 'policy rules');
    const target = policyId === null ? null : await repo.findPolicy(trx, audit.workspaceId, policyId);
    if (policyId !== null && !target) throw invalid('policyId', `no policy ${JSON.stringify(policyId)} in this workspace`);
    if ((target?.id ?? null) === assignment.fallback_policy_id) return;
    const previous = assignment.fallback_policy_id ? await repo.findPolicy(trx, audit.workspaceId, assignment.fallback_policy_id) : undefined;
    const updated = await repo.updateAssignment(trx, audit.workspaceId, { fallback_policy_id: target?.id ?? null });
    const committed = await commit(trx, audit, [
      {
        type: 'policy.fallback_changed',
        targetType: 'workspace',
        targetId: audit.workspaceId,
        data: {
          before: previous ? { policyId: previous.id, policyName: previous.name } : null,
          after: target ? { policyId: target.id, policyName: target.name } : null,
          version: updated.version,
        },
      },
    ]);
    changes = committed.policyChanges.length;
  });
  return { result: await assignmentView(db, audit.workspaceId), effectivePolicyChanges: changes };
}
