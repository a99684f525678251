import t from 'tap';
import { AUDIT_EVENT_TYPES } from '../../src/audit/types.js';
import { accessProjector } from '../../src/services/effective-access.service.js';
import { policyProjector } from '../../src/services/effective-policy.service.js';
import { buildPolicyTestApp, json } from '../policies/helpers.js';

// The commit step's projectors: each one has decided, for every event type of the catalogue,
// whether it depends on it; and the group-delete case that once left user_policy stale.

for (const projector of [accessProjector, policyProjector]) {
  t.test(`the ${projector.name} projector decides about every event type`, async (t) => {
    const decided = [...projector.dependsOn, ...projector.ignores];
    t.same([...new Set(decided)].sort(), [...AUDIT_EVENT_TYPES].sort(), 'each type is depended on or ignored');
    t.equal(new Set(decided).size, decided.length, 'and never both');
  });
}

t.test('deleting a group a policy rule names moves its members to what applies next, recorded', async (t) => {
  const ctx = await buildPolicyTestApp(t);
  const erin = await ctx.user('erin@example.com');
  const vendors = await ctx.group('vendors', [erin]);
  const strict = await ctx.policy('strict', 'allowed_sandbox_modes = ["read-only"]\n');
  const base = await ctx.policy('base', 'allowed_web_search_modes = ["cached"]\n');
  t.equal((await ctx.setRules([{ groupId: vendors, policyId: strict }])).statusCode, 200);
  t.equal((await ctx.setFallback(base)).statusCode, 200);
  t.equal((await ctx.snapshot()).get(erin)?.policy_id, strict, 'erin gets the rule of her group');

  const seq = await ctx.lastSeq();
  t.equal((await ctx.scim('DELETE', `/Groups/${vendors}`)).statusCode, 204);
  t.match((await ctx.snapshot()).get(erin), { policy_id: base, source: 'fallback' }, 'the snapshot follows the delete');
  const events = await ctx.events(seq);
  const removed = events.find((e) => e.event_type === 'group.member_removed' && e.data.userId === erin);
  const changed = events.filter((e) => e.event_type === 'policy.effective_changed');
  t.equal(changed.length, 1, 'one policy.effective_changed');
  t.match(changed[0], { target_id: erin, cause_id: removed?.id, data: { before: { policyId: strict }, after: { policyId: base } } }, 'caused by her membership ending');
  t.match(json(await ctx.call('GET', `/users/${erin}/policy`)), { policy: { id: base } });
});
