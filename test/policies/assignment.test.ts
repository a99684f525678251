import t from 'tap';
import { buildPolicyTestApp, json } from './helpers.js';

// Rules and fallback end to end: first match, several groups, fallback, deactivation, group
// renamed or deleted under a rule, and the user_policy snapshot with its audit events.

const ctx = await buildPolicyTestApp(t);
const { call } = ctx;

const alice = await ctx.user('alice@example.com', { emails: [{ value: 'alice.work@example.com', type: 'work', primary: true }] });
const bob = await ctx.user('bob@example.com');
const carol = await ctx.user('carol@example.com');
const dave = await ctx.user('dave@example.com');

const contractors = await ctx.group('contractors', [alice]);
const engineering = await ctx.group('engineering', [alice, bob]);
const sales = await ctx.group('sales', [carol]);

const strict = await ctx.policy('strict', 'allowed_sandbox_modes = ["read-only"]\nallowed_approval_policies = ["untrusted"]\n');
const eng = await ctx.policy('engineering', 'allowed_sandbox_modes = ["read-only", "workspace-write"]\n');
const base = await ctx.policy('base', 'allowed_web_search_modes = ["cached"]\n');

const policyOf = async (ref: string) => json(await call('GET', `/users/${encodeURIComponent(ref)}/policy`));

t.test('before any rule or fallback nobody has a policy', async (t) => {
  t.equal((await ctx.snapshot()).size, 0);
  const view = await policyOf(alice);
  t.match(view, { source: 'none', policy: null, toml: null, reason: /no rule matched and the workspace has no fallback/ });
});

t.test('first match wins; a user in several groups gets the first rule only', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await ctx.setRules([
    { groupId: contractors, policyId: strict },
    { groupId: engineering, policyId: eng },
  ]);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['x-policy-changed-users'], '2', 'alice and bob');
  const body = json(res);
  t.match(body, { version: 1, rules: [{ position: 1, groupId: contractors, groupName: 'contractors', policy: { id: strict, name: 'strict', version: 1 } }, { position: 2 }], fallback: null });

  const a = await policyOf('alice@example.com');
  t.match(a, { source: 'rule', policy: { id: strict, name: 'strict', version: 1 }, matchedRule: { position: 1, groupId: contractors }, skippedRules: [] });
  t.equal(a.toml, 'allowed_sandbox_modes = ["read-only"]\nallowed_approval_policies = ["untrusted"]\n');
  t.same(a.requirements, { allowed_sandbox_modes: ['read-only'], allowed_approval_policies: ['untrusted'] }, 'nothing merged from the engineering rule');

  const b = await policyOf(bob);
  t.match(b, { source: 'rule', policy: { id: eng }, matchedRule: { position: 2 }, skippedRules: [{ position: 1, reason: 'not_a_member', groupName: 'contractors' }] });

  const events = await ctx.events(seq);
  const rulesChanged = events.find((e) => e.event_type === 'policy.rules_changed')!;
  t.match(rulesChanged, { target_type: 'workspace', target_id: ctx.workspaceId, actor_type: 'admin', data: { before: [], after: [{ position: 1, groupId: contractors, policyId: strict }, { position: 2, groupId: engineering, policyId: eng }], version: 1 } });
  const effective = events.filter((e) => e.event_type === 'policy.effective_changed');
  t.same(effective.map((e) => e.target_id).sort(), [alice, bob].sort());
  for (const e of effective) t.equal(e.cause_id, rulesChanged.id, 'caused by the rules change');
  t.match(effective.find((e) => e.target_id === alice)!.data, { before: null, after: { policyId: strict, policyName: 'strict', version: 1, source: 'rule', groupId: contractors } });
});

t.test('reordering changes who gets what, and only they get events', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await ctx.setRules([
    { groupId: engineering, policyId: eng },
    { groupId: contractors, policyId: strict },
  ]);
  t.equal(res.headers['x-policy-changed-users'], '1', 'only alice changes');
  t.match(await policyOf(alice), { policy: { id: eng }, matchedRule: { position: 1 } });
  const effective = await ctx.effectiveEvents(seq);
  t.same(effective.map((e) => e.target_id), [alice]);
  t.match(effective[0]!.data, { before: { policyId: strict }, after: { policyId: eng } });
});

t.test('the fallback applies to users no rule matches, including new users', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await ctx.setFallback(base);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['x-policy-changed-users'], '2', 'carol and dave');
  t.match(json(res), { fallback: { id: base, name: 'base' }, version: 3 });
  t.match(await policyOf(carol), { source: 'fallback', policy: { id: base }, skippedRules: [{ position: 1 }, { position: 2 }], reason: /fallback/ });
  const fallbackEvent = (await ctx.events(seq)).find((e) => e.event_type === 'policy.fallback_changed')!;
  t.match(fallbackEvent.data, { before: null, after: { policyId: base, policyName: 'base' } });
  t.ok((await ctx.effectiveEvents(seq)).every((e) => e.cause_id === fallbackEvent.id));

  const seq2 = await ctx.lastSeq();
  const erin = await ctx.user('erin@example.com');
  const [created] = (await ctx.events(seq2)).filter((e) => e.event_type === 'user.created');
  const [effective] = await ctx.effectiveEvents(seq2);
  t.match(effective, { target_id: erin, cause_id: created!.id, data: { before: null, after: { policyId: base, source: 'fallback' } } });
});

t.test('membership changes move users between rules, caused by the member event', async (t) => {
  const seq = await ctx.lastSeq();
  await ctx.addMembers(contractors, [carol]);
  const events = await ctx.events(seq);
  const added = events.find((e) => e.event_type === 'group.member_added' && e.data.userId === carol)!;
  const effective = events.filter((e) => e.event_type === 'policy.effective_changed');
  t.equal(effective.length, 1);
  t.match(effective[0], { target_id: carol, cause_id: added.id, data: { before: { policyId: base, source: 'fallback' }, after: { policyId: strict, source: 'rule', groupId: contractors } } });

  const seq2 = await ctx.lastSeq();
  await ctx.removeMember(contractors, carol);
  const [back] = await ctx.effectiveEvents(seq2);
  t.match(back, { target_id: carol, data: { after: { policyId: base, source: 'fallback' } } });

  // Adding alice to sales (no rule) changes nothing for her: no event.
  const seq3 = await ctx.lastSeq();
  await ctx.addMembers(sales, [alice]);
  t.same(await ctx.effectiveEvents(seq3), []);
});

t.test('deactivation removes the policy; reactivation restores it', async (t) => {
  const seq = await ctx.lastSeq();
  await ctx.setActive(bob, false);
  const deactivated = (await ctx.events(seq)).find((e) => e.event_type === 'user.deactivated')!;
  const [gone] = await ctx.effectiveEvents(seq);
  t.match(gone, { target_id: bob, cause_id: deactivated.id, data: { before: { policyId: eng }, after: null } });
  t.match(await policyOf(bob), { source: 'none', policy: null, reason: /deactivated/ });
  t.notOk((await ctx.snapshot()).has(bob));
  const toml = await call('GET', `/users/${bob}/policy`, { headers: { accept: 'application/toml' } });
  t.equal(toml.statusCode, 404);
  t.match(json(toml).message, /No policy applies to bob@example\.com: the user is deactivated/);

  const seq2 = await ctx.lastSeq();
  await ctx.setActive(bob, true);
  const [back] = await ctx.effectiveEvents(seq2);
  t.match(back, { target_id: bob, data: { before: null, after: { policyId: eng } } });
});

t.test('a group renamed under a rule keeps its rule', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await ctx.scim('PATCH', `/Groups/${engineering}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { id: engineering, displayName: 'Engineering (all)' } }],
  });
  t.ok(res.statusCode === 200 || res.statusCode === 204, res.body);
  t.same(await ctx.effectiveEvents(seq), [], 'nobody changes policy');
  const rules = json(await call('GET', '/policy-rules')).rules;
  t.match(rules[0], { groupId: engineering, groupName: 'Engineering (all)', groupDeleted: false });
  t.match(await policyOf(bob), { policy: { id: eng }, matchedRule: { groupName: 'Engineering (all)' } });
});

t.test('a group deleted under a rule: the rule stays, matches nobody, and members fall through', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await ctx.scim('DELETE', `/Groups/${contractors}`);
  t.equal(res.statusCode, 204);
  const rules = json(await call('GET', '/policy-rules'));
  t.match(rules.rules[1], { position: 2, groupId: null, groupName: 'contractors', groupDeleted: true, policy: { id: strict } });
  t.equal(rules.version, 3, 'the rules version is unchanged by SCIM traffic');
  // alice was in contractors and engineering: engineering is rule 1 now, so nothing changes for her.
  t.same(await ctx.effectiveEvents(seq), []);
  const dave2 = await policyOf(dave);
  t.match(dave2.skippedRules, [{ position: 1, reason: 'not_a_member' }, { position: 2, reason: 'group_deleted', groupId: null, detail: /group "contractors" was deleted/ }]);
  // Strict is still named by the dead rule: it cannot be deleted until the rule goes.
  t.equal((await call('DELETE', `/policies/${strict}`)).statusCode, 409);
  // Sending the order again without the dead rule removes it.
  const put = await ctx.setRules([{ groupId: engineering, policyId: eng }]);
  t.equal(put.statusCode, 200);
  t.equal(json(put).rules.length, 1);
});

t.test('a deleted user loses their policy, recorded', async (t) => {
  const frank = await ctx.user('frank@example.com');
  t.ok((await ctx.snapshot()).has(frank), 'fallback');
  const seq = await ctx.lastSeq();
  t.equal((await ctx.scim('DELETE', `/Users/${frank}`)).statusCode, 204);
  const deleted = (await ctx.events(seq)).find((e) => e.event_type === 'user.deleted')!;
  const [gone] = await ctx.effectiveEvents(seq);
  t.match(gone, { target_id: frank, cause_id: deleted.id, data: { before: { policyId: base }, after: null } });
  t.notOk((await ctx.snapshot()).has(frank));
});

t.test('a new version reaches exactly the policy users, and the snapshot follows', async (t) => {
  const before = await ctx.snapshot();
  const onBase = [...before.values()].filter((r) => r.policy_id === base).length;
  t.ok(onBase > 0);
  const seq = await ctx.lastSeq();
  const res = await call('PATCH', `/policies/${base}`, { body: { toml: 'allowed_web_search_modes = ["disabled"]\n' } });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['x-policy-changed-users'], String(onBase));
  const versionEvent = (await ctx.events(seq)).find((e) => e.event_type === 'policy.version_created')!;
  t.match(versionEvent.data, { name: 'base', version: 2, toml: 'allowed_web_search_modes = ["disabled"]\n' });
  const effective = await ctx.effectiveEvents(seq);
  t.equal(effective.length, onBase);
  t.ok(effective.every((e) => e.cause_id === versionEvent.id && e.data.before.version === 1 && e.data.after.version === 2));
  const after = await ctx.snapshot();
  t.ok([...after.values()].filter((r) => r.policy_id === base).every((r) => r.policy_version === 2));
});

t.test('look-ups by userName, email and id agree; ambiguous email is 409', async (t) => {
  const byName = await policyOf('ALICE@example.com');
  const byEmail = await policyOf('alice.work@example.com');
  const byId = await policyOf(alice);
  t.equal(byName.user.id, alice);
  t.same(byEmail, byName);
  t.same(byId, byName);
  t.equal((await call('GET', '/users/nobody@example.com/policy')).statusCode, 404);
  await ctx.user('alias1', { emails: [{ value: 'shared@example.com' }] });
  await ctx.user('alias2', { emails: [{ value: 'shared@example.com' }] });
  t.equal((await call('GET', '/users/shared@example.com/policy')).statusCode, 409);
});

t.test('group look-up: the rule, earlier rules and what members actually get', async (t) => {
  // engineering: rule 1 → eng. sales: no rule → members get the fallback (alice is caught by engineering).
  const res = await call('GET', `/groups/${sales}/policy`, { as: 'compliance' });
  t.equal(res.statusCode, 200, res.body);
  const view = json(res);
  t.match(view, { group: { id: sales, displayName: 'sales' }, rule: null, earlierRules: [], policyForMembers: { id: base, source: 'fallback' } });
  const byPolicy = Object.fromEntries(view.members.map((m: any) => [m.policy?.name ?? 'none', m.count]));
  t.same(byPolicy, { base: 1, engineering: 1 }, 'carol on the fallback, alice through engineering');

  const eng2 = json(await call('GET', `/groups/${engineering}/policy`));
  t.match(eng2, { rule: { position: 1, policy: { id: eng } }, policyForMembers: { id: eng, source: 'rule' } });
  t.equal((await call('GET', `/groups/00000000-0000-4000-8000-000000000000/policy`)).statusCode, 404);
});

t.test('users a policy applies to: keyset pages in user-id order, with a total', async (t) => {
  const snapshot = await ctx.snapshot();
  const expected = [...snapshot.entries()].filter(([, r]) => r.policy_id === base).map(([id]) => id).sort();
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await call('GET', `/policies/${base}/users?limit=1&includeTotal=true${cursor ? `&cursor=${cursor}` : ''}`, { as: 'compliance' });
    t.equal(res.statusCode, 200, res.body);
    const page = json(res);
    t.equal(page.total, expected.length);
    seen.push(...page.items.map((u: any) => u.id));
    cursor = page.nextCursor;
  } while (cursor);
  t.same(seen, expected);
});

t.test('the snapshot always equals a fresh resolution of every user', async (t) => {
  const snapshot = await ctx.snapshot();
  const users = await ctx.db.db.selectFrom('users').select(['id']).where('workspace_id', '=', ctx.workspaceId).execute();
  for (const { id } of users) {
    const view = await policyOf(id);
    const row = snapshot.get(id);
    if (view.policy === null) t.notOk(row, `${id}: none`);
    else t.match(row, { policy_id: view.policy.id, policy_version: view.policy.version, source: view.source }, `${id}: ${view.policy.name}`);
  }
});
