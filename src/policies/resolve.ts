// Which managed policy applies to a user, and why.
//
// Unlike roles, policies never combine: the rules are walked in order and the FIRST rule whose
// group contains the user decides; nothing from later rules is merged in. A user no rule matches
// gets the workspace's fallback policy, if there is one. A deactivated user gets no policy.
//
// The same semantics run set-based in SQL (repositories/policies.repository.ts, recompute); the
// tests hold the two to each other.

export interface PolicyRef {
  policyId: string;
  policyName: string;
  /** The policy's current version: what Codex enforces for the users it applies to. */
  version: number;
}

export interface RuleView extends PolicyRef {
  /** 1-based position in the ordered rule list. */
  position: number;
  /** null once the group was deleted: the rule stays in place and matches nobody. */
  groupId: string | null;
  /** The group's current displayName, or its name when the rule was saved if it is gone. */
  groupName: string | null;
}

export interface Subject {
  active: boolean;
  /** Ids of the groups the user is a member of. */
  groupIds: ReadonlySet<string>;
}

export type SkipReason = 'not_a_member' | 'group_deleted';

export interface SkippedRule {
  position: number;
  groupId: string | null;
  groupName: string | null;
  policyId: string;
  reason: SkipReason;
  detail: string;
}

export type Resolution =
  | { source: 'rule'; policy: PolicyRef; rule: RuleView; skipped: SkippedRule[]; reason: string }
  | { source: 'fallback'; policy: PolicyRef; rule: null; skipped: SkippedRule[]; reason: string }
  | { source: 'none'; policy: null; rule: null; skipped: SkippedRule[]; reason: string; cause: 'deactivated' | 'no_match' };

function quoted(name: string | null): string {
  return name === null ? '(unknown group)' : JSON.stringify(name);
}

function policyOf(ref: PolicyRef): PolicyRef {
  return { policyId: ref.policyId, policyName: ref.policyName, version: ref.version };
}

/** `rules` in any order; they are walked by position. */
export function resolvePolicy(subject: Subject, rules: readonly RuleView[], fallback: PolicyRef | null): Resolution {
  if (!subject.active) {
    return { source: 'none', policy: null, rule: null, skipped: [], cause: 'deactivated', reason: 'the user is deactivated: deactivated users get no policy' };
  }
  const skipped: SkippedRule[] = [];
  for (const rule of [...rules].sort((a, b) => a.position - b.position)) {
    if (rule.groupId === null) {
      skipped.push({
        position: rule.position,
        groupId: null,
        groupName: rule.groupName,
        policyId: rule.policyId,
        reason: 'group_deleted',
        detail: `rule ${rule.position}: group ${quoted(rule.groupName)} was deleted, so the rule matches nobody`,
      });
    } else if (!subject.groupIds.has(rule.groupId)) {
      skipped.push({
        position: rule.position,
        groupId: rule.groupId,
        groupName: rule.groupName,
        policyId: rule.policyId,
        reason: 'not_a_member',
        detail: `rule ${rule.position}: the user is not a member of group ${quoted(rule.groupName)}`,
      });
    } else {
      return {
        source: 'rule',
        policy: policyOf(rule),
        rule,
        skipped,
        reason: `rule ${rule.position} matched: the user is a member of group ${quoted(rule.groupName)}; later rules are not consulted`,
      };
    }
  }
  if (fallback) {
    return { source: 'fallback', policy: policyOf(fallback), rule: null, skipped, reason: 'no rule matched: the workspace fallback policy applies' };
  }
  return { source: 'none', policy: null, rule: null, skipped, cause: 'no_match', reason: 'no rule matched and the workspace has no fallback policy' };
}
