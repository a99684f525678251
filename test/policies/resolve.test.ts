// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import { resolvePolicy, type PolicyRef, type RuleView } from '../../src/policies/resolve.js';

// First match wins, nothing merges, fallback, deactivated users — the pure resolver.

const strict: PolicyRef = { policyId: 'p-strict', policyName: 'strict', version: 3 };
const relaxed: PolicyRef = { policyId: 'p-relaxed', policyName: 'relaxed', version: 1 };
const base: PolicyRef = { policyId: 'p-base', policyName: 'base', version: 7 };

const rules: RuleView[] = [
  // given out of order on purpose: positions decide
  { position: 2, groupId: 'g-eng', groupName: 'engineering', ...relaxed },
  { position: 1, groupId: 'g-contractors', groupName: 'contractors', ...strict },
  { position: 3, groupId: null, groupName: 'old-team', ...relaxed },
];

const user = (groups: string[], active = true) => ({ active, groupIds: new Set(groups) });

t.test('the first rule whose group contains the user decides; later matches are ignored', async (t) => {
  const r = resolvePolicy(user(['g-eng', 'g-contractors']), rules, base);
  t.equal(r.source, 'rule');
  t.same(r.policy, strict);
  t.equal(r.rule?.position, 1);
  t.same(r.skipped, []);
  t.match(r.reason, /rule 1 matched: the user is a member of group "contractors"; later rules are not consulted/);
});

t.test('earlier rules that did not match are explained', async (t) => {
  const r = resolvePolicy(user(['g-eng']), rules, base);
  t.equal(r.source, 'rule');
  t.same(r.policy, relaxed);
  t.same(
    r.skipped.map((s) => [s.position, s.reason]),
    [[1, 'not_a_member']],
  );
  t.match(r.skipped[0]!.detail, /rule 1: the user is not a member of group "contractors"/);
});

t.test('no rule matches: the fallback, with every rule explained', async (t) => {
  const r = resolvePolicy(user(['g-other']), rules, base);
  t.equal(r.source, 'fallback');
  t.same(r.policy, base);
  t.same(
    r.skipped.map((s) => [s.position, s.reason]),
    [
      [1, 'not_a_member'],
      [2, 'not_a_member'],
      [3, 'group_deleted'],
    ],
  );
  t.match(r.skipped[2]!.detail, /group "old-team" was deleted, so the rule matches nobody/);
});

t.test('no rule and no fallback: none', async (t) => {
  const r = resolvePolicy(user([]), rules, null);
  t.equal(r.source, 'none');
  t.equal(r.policy, null);
  t.match(r, { cause: 'no_match' });
});

t.test('a deactivated user gets none, whatever their groups and the fallback', async (t) => {
  const r = resolvePolicy(user(['g-contractors'], false), rules, base);
  t.equal(r.source, 'none');
  t.match(r, { cause: 'deactivated', skipped: [] });
  t.match(r.reason, /deactivated/);
});

t.test('no rules at all: the fallback for everyone active', async (t) => {
  t.same(resolvePolicy(user(['g-eng']), [], base).policy, base);
});
