import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { AuditContext } from '../../src/audit/types.js';
import { resolvePolicy, type PolicyRef, type RuleView } from '../../src/policies/resolve.js';
import { recomputeUserPolicies } from '../../src/repositories/policies.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { recomputeEffectivePolicy } from '../../src/services/effective-policy.service.js';
import { createTestDb } from '../helpers/db.js';

// The set-based SQL recompute against the pure resolver, on random workspaces: users in any
// number of groups, some deactivated, rules in random order (some orphaned by a deleted group),
// with and without a fallback. The snapshot must equal resolvePolicy() for every user.

const { db } = await createTestDb(t);

/** mulberry32: a small seeded PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  t.test(`random workspace, seed ${seed}`, async (t) => {
    const rand = prng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const { workspace } = await ensureWorkspace(db, `recompute-${seed}`);
    const ws = workspace.id;
    const audit: AuditContext = { workspaceId: ws, actor: { type: 'system', id: 'test' } };

    const users = Array.from({ length: 40 }, (_, i) => ({ id: randomUUID(), active: rand() > 0.2, userName: `u${i}` }));
    const groups = Array.from({ length: 8 }, (_, i) => ({ id: randomUUID(), name: `g${i}` }));
    const policies = Array.from({ length: 4 }, (_, i) => ({ id: randomUUID(), name: `p${i}`, version: 1 + Math.floor(rand() * 3) }));
    await db.insertInto('users').values(users.map((u) => ({ id: u.id, workspace_id: ws, user_name: u.userName, active: u.active, resource: JSON.stringify({ userName: u.userName }) }))).execute();
    await db.insertInto('groups').values(groups.map((g) => ({ id: g.id, workspace_id: ws, display_name: g.name, resource: JSON.stringify({ displayName: g.name }) }))).execute();
    const members = new Map(users.map((u) => [u.id, new Set<string>()]));
    const memberships = users.flatMap((u) => groups.filter(() => rand() < 0.25).map((g) => ({ group_id: g.id, user_id: u.id, workspace_id: ws })));
    for (const m of memberships) members.get(m.user_id)!.add(m.group_id);
    if (memberships.length > 0) await db.insertInto('group_members').values(memberships).execute();
    for (const p of policies) {
      await db.insertInto('policies').values({ id: p.id, workspace_id: ws, name: p.name, description: null, current_version: p.version }).execute();
      for (let v = 1; v <= p.version; v++) {
        await db.insertInto('policy_versions').values({ policy_id: p.id, version: v, toml: '', parsed: '{}', sha256: '-', created_by: 'test' }).execute();
      }
    }
    const ruleGroups = [...groups].sort(() => rand() - 0.5).slice(0, 5);
    const rules = ruleGroups.map((g, i) => ({ workspace_id: ws, position: i + 1, group_id: g.id, group_name: g.name, policy_id: pick(policies).id }));
    await db.insertInto('policy_rules').values(rules).execute();
    const fallback = rand() < 0.6 ? pick(policies) : null;
    await db.insertInto('policy_assignments').values({ workspace_id: ws, fallback_policy_id: fallback?.id ?? null }).execute();

    // One group under a rule is deleted: its rule stays and matches nobody.
    const doomed = ruleGroups[Math.floor(rand() * ruleGroups.length)]!;
    await db.deleteFrom('groups').where('id', '=', doomed.id).execute();
    for (const set of members.values()) set.delete(doomed.id);

    const byId = new Map(policies.map((p) => [p.id, p]));
    const ruleViews: RuleView[] = rules.map((r) => {
      const p = byId.get(r.policy_id)!;
      return { position: r.position, groupId: r.group_id === doomed.id ? null : r.group_id, groupName: r.group_name, policyId: p.id, policyName: p.name, version: p.version };
    });
    const fallbackRef: PolicyRef | null = fallback ? { policyId: fallback.id, policyName: fallback.name, version: fallback.version } : null;

    const changed = await db.transaction().execute((trx) => recomputeUserPolicies(trx, ws, 'workspace'));
    const snapshot = new Map((await db.selectFrom('user_policy').selectAll().where('workspace_id', '=', ws).execute()).map((r) => [r.user_id, r]));
    let withPolicy = 0;
    for (const u of users) {
      const expected = resolvePolicy({ active: u.active, groupIds: members.get(u.id)! }, ruleViews, fallbackRef);
      const row = snapshot.get(u.id);
      if (expected.policy === null) {
        t.notOk(row, `${u.userName}: none (${expected.reason})`);
      } else {
        withPolicy++;
        t.same(
          row && { policy: row.policy_id, version: row.policy_version, source: row.source, group: row.rule_group_id },
          { policy: expected.policy.policyId, version: expected.policy.version, source: expected.source, group: expected.rule?.groupId ?? null },
          `${u.userName}: ${expected.source}`,
        );
      }
    }
    t.equal(changed.length, withPolicy, 'every user who got a policy is reported once');

    // Recomputing again changes nothing; a new version moves exactly that policy's users.
    t.same(await db.transaction().execute((trx) => recomputeUserPolicies(trx, ws, 'workspace')), [], 'idempotent');
    const target = pick(policies);
    const onTarget = [...snapshot.values()].filter((r) => r.policy_id === target.id).map((r) => r.user_id).sort();
    await db.insertInto('policy_versions').values({ policy_id: target.id, version: target.version + 1, toml: '', parsed: '{}', sha256: '-', created_by: 'test' }).execute();
    await db.updateTable('policies').set({ current_version: target.version + 1 }).where('id', '=', target.id).execute();
    const cause = randomUUID();
    const n = await db.transaction().execute((trx) => recomputeEffectivePolicy(trx, audit, { policyId: target.id }, cause));
    t.equal(n.length, onTarget.length, 'a new version changes exactly its users');
    const events = await db.selectFrom('audit_events').select(['target_id', 'cause_id', 'data']).where('workspace_id', '=', ws).where('event_type', '=', 'policy.effective_changed').execute();
    t.same(events.map((e) => e.target_id).sort(), onTarget);
    t.ok(events.every((e) => e.cause_id === cause && (e.data as any).after.version === target.version + 1));
  });
}
