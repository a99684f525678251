import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../db/index.js';
import type { PolicyRow, PolicyVersionRow } from '../db/types.js';
import { isUuid, uuidArray } from './ids.js';

// All Kysely code for managed policies: policies and their immutable versions, the workspace's
// ordered rules and fallback, and the user_policy snapshot with its set-based recompute.
//
// The recompute implements src/policies/resolve.ts (read that first) in one statement: the first
// rule, by position, whose group contains the user; else the fallback; nothing for deactivated
// or deleted users. test/policies/recompute.test.ts holds the two to each other.

// ---- policies and versions -----------------------------------------------------------------

export interface PolicyWithUsage extends PolicyRow {
  rule_positions: number[];
  is_fallback: boolean;
  user_count: number;
}

const usageColumns = (workspaceId: string) => sql`
  coalesce((select array_agg(r.position order by r.position) from policy_rules r where r.workspace_id = ${workspaceId} and r.policy_id = p.id), '{}'::int[]) as rule_positions,
  exists (select 1 from policy_assignments a where a.workspace_id = ${workspaceId} and a.fallback_policy_id = p.id) as is_fallback,
  (select count(*)::int from user_policy up where up.policy_id = p.id) as user_count`;

export async function insertPolicy(db: Executor, row: { id: string; workspace_id: string; name: string; description: string | null; current_version: number }): Promise<PolicyRow> {
  return db.insertInto('policies').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findPolicy(db: Executor, workspaceId: string, id: string): Promise<PolicyRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('policies').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

/**
 * Reads and row-locks a policy: edits and deletes of one policy apply one after the other.
 * FOR NO KEY UPDATE, not FOR UPDATE: it must not block the KEY SHARE locks that foreign keys
 * to the policy take — a SCIM write recomputing user_policy (which references the policy) holds
 * the workspace's access lock that this edit will wait for, and FOR UPDATE would deadlock the two.
 */
export async function lockPolicy(db: Executor, workspaceId: string, id: string): Promise<PolicyRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('policies').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
}

export async function findPolicyWithUsage(db: Executor, workspaceId: string, id: string): Promise<PolicyWithUsage | undefined> {
  if (!isUuid(id)) return undefined;
  const result = await sql<PolicyWithUsage>`
    select p.*, ${usageColumns(workspaceId)} from policies p where p.workspace_id = ${workspaceId} and p.id = ${id}`.execute(db);
  return result.rows[0];
}

/** Policies in name order, a keyset page at a time. */
export async function pagePolicies(db: Executor, workspaceId: string, after: { name: string; id: string } | undefined, limit: number): Promise<PolicyWithUsage[]> {
  const where = after ? sql`and (lower(p.name), p.id) > (${after.name}, ${after.id}::uuid)` : sql``;
  const result = await sql<PolicyWithUsage>`
    select p.*, ${usageColumns(workspaceId)} from policies p
     where p.workspace_id = ${workspaceId} ${where}
     order by lower(p.name), p.id
     limit ${limit}`.execute(db);
  return result.rows;
}

export async function updatePolicy(
  db: Executor,
  workspaceId: string,
  id: string,
  set: { name?: string; description?: string | null; current_version?: number },
): Promise<PolicyRow> {
  return db
    .updateTable('policies')
    .set({ ...set, updated_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deletePolicy(db: Executor, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('policies').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function insertVersion(
  db: Executor,
  row: { policy_id: string; version: number; toml: string; parsed: unknown; warnings: unknown[]; sha256: string; created_by: string },
): Promise<PolicyVersionRow> {
  return db
    .insertInto('policy_versions')
    .values({ ...row, parsed: JSON.stringify(row.parsed), warnings: JSON.stringify(row.warnings) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findVersion(db: Executor, policyId: string, version: number): Promise<PolicyVersionRow | undefined> {
  return db.selectFrom('policy_versions').selectAll().where('policy_id', '=', policyId).where('version', '=', version).executeTakeFirst();
}

export type VersionSummary = Omit<PolicyVersionRow, 'toml' | 'parsed'>;

/** Newest first, without the documents (a page of metadata stays small however long the TOML). */
export async function pageVersions(db: Executor, policyId: string, beforeVersion: number | undefined, limit: number): Promise<VersionSummary[]> {
  let query = db
    .selectFrom('policy_versions')
    .select(['policy_id', 'version', 'warnings', 'sha256', 'created_at', 'created_by'])
    .where('policy_id', '=', policyId)
    .orderBy('version', 'desc')
    .limit(limit);
  if (beforeVersion !== undefined) query = query.where('version', '<', beforeVersion);
  return query.execute();
}

// ---- assignment: rules and fallback --------------------------------------------------------

export interface AssignmentRow {
  workspace_id: string;
  fallback_policy_id: string | null;
  version: number;
  updated_at: Date;
}

/**
 * Reads and row-locks the workspace's assignment, creating it on first use. Every change to the
 * rules or the fallback holds this lock, so two admins' edits apply one after the other and the
 * second sees the first's version (and fails its If-Match).
 */
export async function lockAssignment(db: Executor, workspaceId: string): Promise<AssignmentRow> {
  await db.insertInto('policy_assignments').values({ workspace_id: workspaceId }).onConflict((oc) => oc.column('workspace_id').doNothing()).execute();
  return db.selectFrom('policy_assignments').selectAll().where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirstOrThrow();
}

export async function findAssignment(db: Executor, workspaceId: string): Promise<AssignmentRow | undefined> {
  return db.selectFrom('policy_assignments').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
}

export async function updateAssignment(db: Executor, workspaceId: string, set: { fallback_policy_id?: string | null }): Promise<AssignmentRow> {
  return db
    .updateTable('policy_assignments')
    .set((eb) => ({ ...set, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('workspace_id', '=', workspaceId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface RuleRow {
  position: number;
  group_id: string | null;
  /** The group's current displayName, or the name saved with the rule once the group is gone. */
  group_name: string;
  group_exists: boolean;
  policy_id: string;
  policy_name: string;
  policy_version: number;
}

export async function listRules(db: Executor, workspaceId: string): Promise<RuleRow[]> {
  const result = await sql<RuleRow>`
    select r.position, r.group_id, coalesce(g.display_name, r.group_name) as group_name, g.id is not null as group_exists,
           r.policy_id, p.name as policy_name, p.current_version as policy_version
      from policy_rules r
      join policies p on p.id = r.policy_id
      left join groups g on g.id = r.group_id
     where r.workspace_id = ${workspaceId}
     order by r.position`.execute(db);
  return result.rows;
}

/** Replaces the whole ordered list (positions 1..n in the given order). */
/** Whether any rule names one of these groups (only then can their membership change a policy). */
export async function rulesNameAnyGroup(db: Executor, workspaceId: string, groupIds: readonly string[]): Promise<boolean> {
  if (groupIds.length === 0) return false;
  const row = await db
    .selectFrom('policy_rules')
    .select('group_id')
    .where('workspace_id', '=', workspaceId)
    .where('group_id', 'in', groupIds)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function replaceRules(db: Executor, workspaceId: string, rules: ReadonlyArray<{ groupId: string; groupName: string; policyId: string }>): Promise<void> {
  await db.deleteFrom('policy_rules').where('workspace_id', '=', workspaceId).execute();
  if (rules.length === 0) return;
  await db
    .insertInto('policy_rules')
    .values(rules.map((r, i) => ({ workspace_id: workspaceId, position: i + 1, group_id: r.groupId, group_name: r.groupName, policy_id: r.policyId })))
    .execute();
}

/** Where a policy is in use: rule positions and whether it is the fallback. */
export async function policyReferences(db: Executor, workspaceId: string, policyId: string): Promise<{ positions: number[]; fallback: boolean }> {
  const [rules, assignment] = await Promise.all([
    db.selectFrom('policy_rules').select('position').where('workspace_id', '=', workspaceId).where('policy_id', '=', policyId).orderBy('position').execute(),
    db.selectFrom('policy_assignments').select('workspace_id').where('workspace_id', '=', workspaceId).where('fallback_policy_id', '=', policyId).executeTakeFirst(),
  ]);
  return { positions: rules.map((r) => r.position), fallback: assignment !== undefined };
}

/**
 * Of `ids`, the groups of the workspace, with their names. With `keyShare`, the rows are locked
 * FOR KEY SHARE — what the rules' foreign key takes anyway — before any rule row is touched, so
 * a concurrent SCIM delete of one of the groups (group row first, then its rules via ON DELETE
 * SET NULL) and a rules replacement take their locks in the same order and cannot deadlock.
 */
export async function groupsByIds(db: Executor, workspaceId: string, ids: readonly string[], keyShare = false): Promise<Array<{ id: string; display_name: string }>> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return [];
  const result = await sql<{ id: string; display_name: string }>`
    select g.id, g.display_name from groups g join unnest(${uuidArray(valid)}) as x(id) on g.id = x.id
     where g.workspace_id = ${workspaceId}
     order by g.id ${keyShare ? sql`for key share of g` : sql``}`.execute(db);
  return result.rows;
}

/** Of `ids`, the policies of the workspace (locked FOR KEY SHARE with `keyShare`, as above). */
export async function policiesByIds(db: Executor, workspaceId: string, ids: readonly string[], keyShare = false): Promise<PolicyRow[]> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return [];
  const query = db.selectFrom('policies').selectAll().where('workspace_id', '=', workspaceId).where('id', 'in', valid).orderBy('id');
  return (keyShare ? query.forKeyShare() : query).execute();
}

// ---- the user_policy snapshot --------------------------------------------------------------

/**
 * Which users a recompute covers: everyone in the workspace (rules or fallback changed), the
 * users a policy currently applies to (it got a new version), or named users (SCIM writes).
 */
export type PolicyScope = 'workspace' | { policyId: string } | { userIds: readonly string[] };

export interface EffectivePolicy {
  policyId: string;
  policyName: string;
  version: number;
  source: 'rule' | 'fallback';
  /** The group of the rule that matched; null for the fallback. */
  groupId: string | null;
}

export interface PolicyChangeRow {
  userId: string;
  before: EffectivePolicy | null;
  after: EffectivePolicy | null;
}

export function scopeSql(workspaceId: string, scope: PolicyScope): RawBuilder<unknown> | undefined {
  if (scope === 'workspace') {
    // user_policy too: rows of users deleted since are cleared (and their loss recorded).
    return sql`select id as user_id from users where workspace_id = ${workspaceId}
               union select user_id from user_policy where workspace_id = ${workspaceId}`;
  }
  if ('policyId' in scope) return sql`select user_id from user_policy where workspace_id = ${workspaceId} and policy_id = ${scope.policyId}`;
  const ids = scope.userIds.filter(isUuid);
  if (ids.length === 0) return undefined;
  return sql`select distinct x.id as user_id from unnest(${uuidArray(ids)}) as x(id)`;
}

interface RawChange {
  user_id: string;
  before_policy_id: string | null;
  before_policy_name: string | null;
  before_version: number | null;
  before_source: 'rule' | 'fallback' | null;
  before_group_id: string | null;
  after_policy_id: string | null;
  after_policy_name: string | null;
  after_version: number | null;
  after_source: 'rule' | 'fallback' | null;
  after_group_id: string | null;
}

function effective(id: string | null, name: string | null, version: number | null, source: 'rule' | 'fallback' | null, groupId: string | null): EffectivePolicy | null {
  return id === null ? null : { policyId: id, policyName: name ?? '', version: Number(version), source: source!, groupId };
}

/** The one statement of recomputeUserPolicies (exported so its SQL is snapshotted for review). */
export function recomputeUserPoliciesStatement(workspaceId: string, scopeIds: RawBuilder<unknown>) {
  return sql<RawChange>`
    with scope as (${scopeIds}),
    subject as (
      select s.user_id, coalesce(u.active, false) as active
        from scope s left join users u on u.id = s.user_id and u.workspace_id = ${workspaceId}
    ),
    first_rule as (
      select distinct on (m.user_id) m.user_id, r.policy_id, r.group_id
        from subject s
        join group_members m on m.user_id = s.user_id
        join policy_rules r on r.workspace_id = ${workspaceId} and r.group_id = m.group_id
       where s.active
       order by m.user_id, r.position
    ),
    computed as (
      select s.user_id,
             coalesce(f.policy_id, a.fallback_policy_id) as policy_id,
             case when f.policy_id is not null then 'rule' else 'fallback' end as source,
             f.group_id as rule_group_id
        from subject s
        left join first_rule f on f.user_id = s.user_id
        left join policy_assignments a on a.workspace_id = ${workspaceId}
       where s.active and coalesce(f.policy_id, a.fallback_policy_id) is not null
    ),
    target as (
      select c.user_id, c.policy_id, p.name as policy_name, p.current_version as policy_version, c.source, c.rule_group_id
        from computed c join policies p on p.id = c.policy_id
    ),
    existing as (
      select up.user_id, up.policy_id, p.name as policy_name, up.policy_version, up.source, up.rule_group_id
        from user_policy up
        join scope s on s.user_id = up.user_id
        join policies p on p.id = up.policy_id
       where up.workspace_id = ${workspaceId}
    ),
    diff as (
      select coalesce(t.user_id, e.user_id) as user_id,
             e.policy_id as before_policy_id, e.policy_name as before_policy_name, e.policy_version as before_version,
             e.source as before_source, e.rule_group_id as before_group_id,
             t.policy_id as after_policy_id, t.policy_name as after_policy_name, t.policy_version as after_version,
             t.source as after_source, t.rule_group_id as after_group_id
        from target t full join existing e on e.user_id = t.user_id
       where (t.policy_id, t.policy_version, t.source, t.rule_group_id) is distinct from (e.policy_id, e.policy_version, e.source, e.rule_group_id)
    ),
    removed as (
      delete from user_policy up using diff d
       where up.user_id = d.user_id and up.workspace_id = ${workspaceId} and d.after_policy_id is null
      returning 1
    ),
    upserted as (
      insert into user_policy (user_id, workspace_id, policy_id, policy_version, source, rule_group_id, updated_at)
      select user_id, ${workspaceId}, after_policy_id, after_version, after_source, after_group_id, now() from diff where after_policy_id is not null
      on conflict (user_id) do update
        set policy_id = excluded.policy_id, policy_version = excluded.policy_version, source = excluded.source,
            rule_group_id = excluded.rule_group_id, updated_at = excluded.updated_at
      returning 1
    )
    select * from diff
     where (before_policy_id, before_version) is distinct from (after_policy_id, after_version)
     order by user_id`;
}

/**
 * Recomputes the effective policy of the users in `scope` in one statement, rewrites the
 * user_policy rows that differ (policy, version, or the rule that matched) and returns the users
 * whose enforced document changed: another policy, another version, or none at all. A user whose
 * policy stays the same but now through another rule is updated silently: Codex enforces the same.
 */
export async function recomputeUserPolicies(db: Executor, workspaceId: string, scope: PolicyScope): Promise<PolicyChangeRow[]> {
  const scopeIds = scopeSql(workspaceId, scope);
  if (!scopeIds) return [];
  const result = await recomputeUserPoliciesStatement(workspaceId, scopeIds).execute(db);
  return result.rows.map((r) => ({
    userId: r.user_id,
    before: effective(r.before_policy_id, r.before_policy_name, r.before_version, r.before_source, r.before_group_id),
    after: effective(r.after_policy_id, r.after_policy_name, r.after_version, r.after_source, r.after_group_id),
  }));
}

/** The ids of the groups a user is a member of. */
export async function groupIdsOfUser(db: Executor, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_members').select('group_id').where('user_id', '=', userId).execute();
  return rows.map((r) => r.group_id);
}

export interface PolicyUserRow {
  id: string;
  user_name: string;
  display_name: string | null;
  policy_version: number;
  source: 'rule' | 'fallback';
  rule_group_id: string | null;
}

/** One keyset page (user-id order) of the users a policy applies to, from the snapshot. */
export async function policyUsersPage(db: Executor, workspaceId: string, policyId: string, afterUserId: string | undefined, limit: number): Promise<PolicyUserRow[]> {
  const after = afterUserId ? sql`and up.user_id > ${afterUserId}` : sql``;
  const result = await sql<PolicyUserRow>`
    select u.id, u.user_name, u.resource->>'displayName' as display_name, up.policy_version, up.source, up.rule_group_id
      from user_policy up join users u on u.id = up.user_id
     where up.workspace_id = ${workspaceId} and up.policy_id = ${policyId} ${after}
     order by up.user_id
     limit ${limit}`.execute(db);
  return result.rows;
}

export async function countPolicyUsers(db: Executor, workspaceId: string, policyId: string): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from user_policy where workspace_id = ${workspaceId} and policy_id = ${policyId}`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

export interface GroupOutcomeRow {
  policy_id: string | null;
  policy_name: string | null;
  policy_version: number | null;
  source: 'rule' | 'fallback' | null;
  rule_group_id: string | null;
  active: boolean;
  users: number;
}

/**
 * What the members of a group actually get, counted by outcome from the snapshot: a member may
 * be caught by an earlier rule for another of their groups, or be deactivated.
 */
export async function groupMemberOutcomes(db: Executor, workspaceId: string, groupId: string): Promise<GroupOutcomeRow[]> {
  const result = await sql<GroupOutcomeRow>`
    select up.policy_id, p.name as policy_name, up.policy_version, up.source, up.rule_group_id, u.active, count(*)::int as users
      from group_members m
      join users u on u.id = m.user_id
      left join user_policy up on up.user_id = m.user_id and up.workspace_id = ${workspaceId}
      left join policies p on p.id = up.policy_id
     where m.group_id = ${groupId}
     group by up.policy_id, p.name, up.policy_version, up.source, up.rule_group_id, u.active
     order by count(*) desc, p.name`.execute(db);
  return result.rows;
}
