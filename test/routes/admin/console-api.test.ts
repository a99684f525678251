import t from 'tap';
import { redactBody } from '../../../src/services/provisioning-health.service.js';
import { buildAdminTestApp, json } from './helpers.js';

// The reads the console is built on: a user's access timeline with causes in words (readable by
// codex-admins, who cannot read the whole audit log), holders and group size over time, a group's
// history for codex-admins, the caller's session, and provisioning health per SCIM client.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

t.test('console reads', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const grace = json(await scim('POST', '/Users', { schemas: [USER], userName: 'grace@example.com' })).id as string;
  const cloud = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-cloud-users', members: [{ value: grace }] })).id as string;
  await scim('PATCH', `/Groups/${cloud}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${grace}"]` }] });

  t.test('why did she lose codex_cloud: the access timeline', async (t) => {
    const res = await api('GET', `/users/grace@example.com/access-timeline`, { as: 'codex-admin' });
    t.equal(res.statusCode, 200, res.body);
    const timeline = json(res);
    t.equal(timeline.userId, grace);
    t.match(timeline.entries, [
      { lost: ['code_review', 'codex_cloud'], gained: [], after: [], reason: 'removed from group codex-cloud-users', cause: { type: 'group.member_removed', targetId: cloud }, actor: { type: 'scim' } },
      { gained: ['code_review', 'codex_cloud'], lost: [], reason: 'added to group codex-cloud-users', cause: { type: 'group.member_added' } },
    ]);
    const first = json(await api('GET', `/users/${grace}/access-timeline?limit=1`, { as: 'compliance' }));
    t.equal(first.entries.length, 1);
    const second = json(await api('GET', `/users/${grace}/access-timeline?limit=1&cursor=${first.nextCursor}`));
    t.same(second.entries.map((e: { reason: string }) => e.reason), ['added to group codex-cloud-users'], 'the next page is the older change');
    t.equal(second.nextCursor, null);
    t.equal((await api('GET', `/users/${grace}/access-timeline?cursor=x`)).statusCode, 400);
    t.equal((await api('GET', '/users/nobody@example.com/access-timeline')).statusCode, 404);
    t.equal((await api('GET', '/audit/events', { as: 'codex-admin' })).statusCode, 403, 'the whole audit log stays closed to codex-admins');
    t.equal((await api('GET', `/groups/${cloud}/history`, { as: 'codex-admin' })).statusCode, 200, "a group's own history is open to them");
  });

  t.test('counts over time', async (t) => {
    const holders = json(await api('GET', '/permissions/codex_cloud/holders-over-time?days=7', { as: 'compliance' }));
    t.equal(holders.days.length, 7);
    t.equal(holders.days[6].date, new Date().toISOString().slice(0, 10), 'ends today');
    t.equal(holders.days[6].count, 0, 'nobody holds it now');
    t.ok(holders.days.every((d: { count: number }) => d.count === 0), 'gained and lost the same day: 0 at every day end');
    await scim('PATCH', `/Groups/${cloud}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: grace }] }] });
    const after = json(await api('GET', '/permissions/codex_cloud/holders-over-time?days=2'));
    t.same(after.days.map((d: { count: number }) => d.count), [0, 1], 'yesterday none, today one');
    t.same(json(await api('GET', `/groups/${cloud}/size-over-time?days=2`)).days.map((d: { count: number }) => d.count), [0, 1]);
    t.equal((await api('GET', '/permissions/codex_cloud/holders-over-time?days=0')).statusCode, 400);
  });

  t.test('the session', async (t) => {
    t.match(json(await api('GET', '/session', { as: 'compliance' })), { role: 'compliance', workspaceId: ctx.workspaceId, via: 'token' });
    t.equal((await api('GET', '/session', { as: null })).statusCode, 401);
  });

  t.test('provisioning health', async (t) => {
    await scim('POST', '/Users', { schemas: [USER], userName: 'grace@example.com', name: { givenName: 'Grace' } }); // 409
    await scim('GET', '/Users/00000000-0000-4000-8000-000000000001'); // 404
    const res = await api('GET', '/provisioning/health?hours=2', { as: 'codex-admin' });
    t.equal(res.statusCode, 200, res.body);
    const health = json(res);
    t.equal(health.tokens.length, 1, 'one SCIM client');
    t.ok(health.tokens[0].requests >= 6, 'every request of the IdP counted');
    t.equal(health.tokens[0].perHour.length, 2);
    t.same(health.errors.map((e: { outcome: string }) => e.outcome).sort(), ['404', 'uniqueness']);
    const conflict = health.recentFailures.find((f: { status: number }) => f.status === 409);
    t.match(conflict, { method: 'POST', path: '/scim/v2/Users', scimType: 'uniqueness', body: { schemas: [USER], userName: '<redacted>', name: { givenName: '<redacted>' } } }, 'the body with its values redacted');
    t.notMatch(JSON.stringify(health.recentFailures.map((f: { body: unknown }) => f.body)), /grace@example|Grace/, 'no personal value in the bodies');
    t.equal((await api('GET', '/provisioning/health?hours=0')).statusCode, 400);
  });
});

t.test('redacting a body keeps its shape', async (t) => {
  t.same(redactBody({ schemas: ['urn:x'], Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'add', value: { emails: [{ value: 'a@b', primary: true }] } }], password: 's3cret', count: 3 }), {
    schemas: ['urn:x'],
    Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'add', value: { emails: [{ value: '<redacted>', primary: true }] } }],
    password: '<redacted>',
    count: '<redacted>',
  });
});
