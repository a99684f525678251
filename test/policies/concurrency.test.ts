import t from 'tap';
import { testDialect } from '../helpers/db.js';
import { buildPolicyTestApp, json } from './helpers.js';

// Two admins reordering at once, and rule changes racing SCIM membership traffic. Meaningful on
// PostgreSQL, where the requests really run in parallel on separate connections; on PGlite (one
// connection) they serialise, and the same assertions must hold.

const ctx = await buildPolicyTestApp(t);
const { call } = ctx;

const users = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.user(`user${i}@example.com`)));
const groups: string[] = [];
for (let i = 0; i < 4; i++) groups.push(await ctx.group(`team-${i}`, users.filter((_, u) => u % (i + 2) === 0)));
const policies: string[] = [];
for (let i = 0; i < 4; i++) policies.push(await ctx.policy(`policy-${i}`, `allowed_web_search_modes = ["cached"]\n# ${i}\n`));

/** Groups in `perm` order; the policies rotated by `shift`, so two rounds never propose the same list. */
const order = (perm: number[], shift = 0) => perm.map((g, i) => ({ groupId: groups[g]!, policyId: policies[(i + shift) % policies.length]! }));

t.test(`concurrent reorders with the same If-Match: exactly one wins (${testDialect})`, async (t) => {
  for (let round = 0; round < 5; round++) {
    const etag = String((await call('GET', '/policy-rules')).headers.etag);
    const candidates = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]].map((perm) => order(perm, round));
    const results = await Promise.all(candidates.map((rules) => call('PUT', '/policy-rules', { body: { rules }, headers: { 'if-match': etag } })));
    const statuses = results.map((r) => r.statusCode);
    const winners = results.filter((r) => r.statusCode === 200);
    // The first to take the lock wins; the others find the version moved. (A list equal to the
    // current one would be a no-op 200; the rotation makes every candidate differ from it.)
    t.equal(winners.length, 1, `round ${round}: one 200 (${statuses.join(', ')})`);
    t.equal(statuses.filter((s) => s === 412).length, candidates.length - 1, 'the rest 412');
    const now = json(await call('GET', '/policy-rules'));
    t.same(now.rules, json(winners[0]!).rules, 'the stored order is the winner’s, not a mix');
    t.equal(now.version, json(winners[0]!).version);
  }
  const changes = (await ctx.events()).filter((e) => e.event_type === 'policy.rules_changed');
  t.equal(changes.length, 5, 'one rules_changed per successful reorder');
  for (let i = 1; i < changes.length; i++) t.same(changes[i]!.data.before, changes[i - 1]!.data.after, 'each change starts from the previous one');
});

t.test('rules and fallback changes racing SCIM membership changes leave a correct snapshot', async (t) => {
  const reorder = async (perm: number[]) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const etag = String((await call('GET', '/policy-rules')).headers.etag);
      const res = await call('PUT', '/policy-rules', { body: { rules: order(perm) }, headers: { 'if-match': etag } });
      if (res.statusCode === 200) return;
      if (res.statusCode !== 412) throw new Error(`reorder: ${res.statusCode} ${res.body}`);
    }
    throw new Error('reorder never won');
  };
  const work: Array<Promise<unknown>> = [];
  for (let i = 0; i < 6; i++) {
    work.push(reorder([i % 4, (i + 1) % 4, (i + 2) % 4, (i + 3) % 4]));
    work.push(ctx.addMembers(groups[i % 4]!, [users[(i * 5) % users.length]!, users[(i * 7 + 1) % users.length]!]));
    work.push(ctx.removeMember(groups[(i + 1) % 4]!, users[(i * 3) % users.length]!));
    work.push(ctx.setActive(users[i]!, i % 2 === 0));
    work.push(ctx.setFallback(i % 3 === 0 ? null : policies[i % 4]!));
    work.push(call('PATCH', `/policies/${policies[i % 4]}`, { body: { toml: `allowed_web_search_modes = ["cached"]\n# round ${i}\n` } }));
  }
  const settled = await Promise.allSettled(work);
  for (const s of settled) if (s.status === 'rejected') t.fail(String(s.reason));

  const snapshot = await ctx.snapshot();
  for (const id of users) {
    const view = json(await call('GET', `/users/${id}/policy`));
    const row = snapshot.get(id);
    if (view.policy === null) t.notOk(row, `${id}: no policy`);
    else t.match(row, { policy_id: view.policy.id, policy_version: view.policy.version, source: view.source }, `${id}: ${view.policy.name} v${view.policy.version}`);
  }

  // Replaying each user's policy.effective_changed events ends where the snapshot is.
  const last = new Map<string, any>();
  for (const e of await ctx.effectiveEvents()) last.set(e.target_id, e.data.after);
  for (const id of users) {
    const row = snapshot.get(id);
    const after = last.get(id) ?? null;
    t.same(after === null ? null : [after.policyId, after.version], row ? [row.policy_id, row.policy_version] : null, `${id}: the trail ends at the snapshot`);
  }
});
