import t from 'tap';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';

// Access reviews as of a date: who held codex_admin at each instant, since when and why, from the
// audit log alone (a deleted user still appears where they held it), with the signed checkpoint
// the granting events are provably sealed under; as JSON, CSV and a printable page.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const tick = () => new Promise((resolve) => setTimeout(resolve, 15));

t.test('holders of a permission at any instant', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const user = async (userName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName })).id as string;
  const alice = await user('alice@example.com');
  const bob = await user('bob@example.com');
  await tick();
  const before = new Date();
  await tick();
  const admins = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-admins', members: [{ value: alice }] })).id as string;
  await tick();
  const onlyAlice = new Date();
  await tick();
  t.ok([200, 204].includes((await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: bob }] }] })).statusCode));
  await tick();
  const both = new Date();
  await tick();
  t.ok([200, 204].includes((await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${alice}"]` }] })).statusCode));
  await tick();
  const onlyBob = new Date();
  await tick();
  t.equal((await scim('DELETE', `/Users/${bob}`)).statusCode, 204);

  const holders = async (at: Date, as: 'owner' | 'compliance' = 'compliance') => {
    const res = await api('GET', `/reviews/holders?permission=codex_admin&at=${at.toISOString()}`, { as });
    t.equal(res.statusCode, 200, res.body);
    return json(res);
  };
  t.same((await holders(before)).holders, [], 'nobody before the group was pushed');
  const first = await holders(onlyAlice);
  t.match(first, {
    permission: 'codex_admin',
    at: onlyAlice.toISOString(),
    holders: [{ userId: alice, userName: 'alice@example.com', source: 'event', since: String, grantedBy: { eventId: String, cause: { type: 'group.member_added', targetId: admins }, reason: 'added to group codex-admins' } }],
  });
  t.same((await holders(both)).holders.map((h: { userName: string }) => h.userName), ['alice@example.com', 'bob@example.com'], 'both while both were members');
  const last = await holders(onlyBob, 'owner');
  t.same(last.holders.map((h: { userId: string }) => h.userId), [bob], 'alice lost it when she left the group');
  t.match(last.holders[0], { userName: 'bob@example.com', grantedBy: { cause: { type: 'group.member_added', targetId: admins }, reason: 'added to group codex-admins' } }, 'bob, deleted since, is still named from the trail');
  t.same((await holders(new Date())).holders, [], 'nobody now: bob was deleted');

  // The granting event is provably in the checkpoint the report gives.
  const { treeSize, checkpoint } = last.auditHead;
  t.match(checkpoint, /^codex-scim-bridge\//);
  const proof = await api('GET', `/audit/events/${last.holders[0].grantedBy.eventId}/proof?treeSize=${treeSize}`, { as: 'compliance' });
  t.equal(proof.statusCode, 200, proof.body);
  t.equal(json(proof).rootHash, last.auditHead.rootHash);

  const csv = await api('GET', `/reviews/holders?permission=codex_admin&at=${both.toISOString()}&format=csv`, { as: 'compliance' });
  t.match(csv.headers['content-type'], /^text\/csv/);
  t.match(csv.headers['content-disposition'], /^attachment; filename="holders-codex_admin-[0-9T-]+Z\.csv"$/);
  const lines = csv.body.trimEnd().split('\r\n');
  t.equal(lines[0], '"user_id","user_name","since","source","reason","granted_by_event","cause_event","cause_type"');
  t.equal(lines.length, 3, 'a header and a row per holder');
  t.match(lines[2], `"${bob}","bob@example.com"`);
  const html = await api('GET', `/reviews/holders?permission=codex_admin&at=${both.toISOString()}&format=html`, { as: 'compliance' });
  t.match(html.headers['content-type'], /^text\/html/);
  t.match(html.body, /<table>[\s\S]*alice@example\.com[\s\S]*bob@example\.com[\s\S]*<\/table>/);
  t.match(html.body, `Tree size ${treeSize}`);

  // By group: its members at each instant, from the member events.
  const members = async (at: Date, ref = 'codex-admins') => {
    const res = await api('GET', `/reviews/holders?group=${encodeURIComponent(ref)}&at=${at.toISOString()}`, { as: 'compliance' });
    t.equal(res.statusCode, 200, res.body);
    return json(res);
  };
  const atBoth = await members(both);
  t.match(atBoth, { permission: null, group: { id: admins, displayName: 'codex-admins' } });
  t.same(atBoth.holders.map((h: { userName: string }) => h.userName), ['alice@example.com', 'bob@example.com']);
  t.match(atBoth.holders[1], { userId: bob, since: String, grantedBy: { eventId: String, seq: Number, reason: 'member of group codex-admins' } });
  t.same((await members(onlyBob, admins)).holders.map((h: { userId: string }) => h.userId), [bob], 'by id too; alice had left');
  t.same((await members(before)).holders, [], 'no members before the group existed');
  const page = await api('GET', `/reviews/holders?group=codex-admins&at=${both.toISOString()}&format=html`, { as: 'compliance' });
  t.match(page.body, /<h1>Members of codex-admins at /);
  t.equal((await api('GET', '/reviews/holders?group=codex-admins&permission=codex_admin')).statusCode, 400, 'a permission or a group, not both');
  t.equal((await api('GET', '/reviews/holders?group=no-such-group')).statusCode, 404);

  t.equal((await api('GET', '/reviews/holders?permission=codex_admin', { as: 'codex-admin' })).statusCode, 403, 'compliance and owners run reviews');
  t.equal((await api('GET', '/reviews/holders?permission=codex_admin&at=yesterday')).statusCode, 400);
  t.equal((await api('GET', '/reviews/holders')).statusCode, 400, 'a permission or a group is required');
});

t.test('holders of a role at any instant, also when only the roles change', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const user = async (userName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName })).id as string;
  const group = async (displayName: string, members: string[]) =>
    json(await scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) })).id as string;
  const holders = async (query: string, at: Date) => {
    const res = await api('GET', `/reviews/holders?${query}&at=${at.toISOString()}`, { as: 'compliance' });
    t.equal(res.statusCode, 200, res.body);
    return json(res);
  };
  const names = (report: { holders: Array<{ userName: string }> }) => report.holders.map((h) => h.userName);

  const alice = await user('alice@example.com');
  const bob = await user('bob@example.com');
  await group('codex-admins', [alice]);
  await tick();
  const adminOnly = new Date();
  await tick();
  // Codex Admin already grants everything Codex Local does: alice's permissions stay, her roles do not.
  const local = await group('codex-local-users', [alice]);
  await tick();
  const both = new Date();
  await tick();
  const cloud = json(await api('GET', '/roles/Codex%20Cloud')).id as string;
  t.equal((await api("PUT", `/users/${bob}/roles/${cloud}`)).statusCode, 201);
  await tick();
  const bobCloud = new Date();
  await tick();
  t.equal((await scim('PATCH', `/Users/${bob}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 200);
  await tick();
  const bobInactive = new Date();

  const history = json(await api('GET', `/users/${alice}/access-timeline`));
  t.match(history.entries[0], { gained: [], lost: [], reason: 'added to group codex-local-users' }, 'a role-only change is an access change of its own');

  t.same(names(await holders('role=Codex%20Local', adminOnly)), [], 'nobody held Codex Local before the group was pushed');
  const report = await holders('role=codex%20local', both);
  t.match(report, { permission: null, role: { name: 'Codex Local' }, group: null });
  t.match(report.holders, [{ userId: alice, source: 'event', grantedBy: { cause: { type: 'group.member_added', targetId: local }, reason: 'added to group codex-local-users' } }]);
  t.same(names(await holders(`role=${report.role.id}`, both)), ['alice@example.com'], 'by id too');
  t.same(names(await holders('role=Codex%20Admin', both)), ['alice@example.com']);
  t.match((await holders('role=Codex%20Cloud', bobCloud)).holders, [{ userId: bob, grantedBy: { reason: 'role Codex Cloud assigned directly' } }]);
  t.same(names(await holders('role=Codex%20Cloud', bobInactive)), [], 'a deactivated user holds no role');
  t.same(names(await holders('role=Codex%20Admin', bobInactive)), ['alice@example.com']);
  const defaultRole = await api('GET', '/reviews/holders?role=Default', { as: 'compliance' });
  t.equal(defaultRole.statusCode, 400, 'the default role is everyone else: its permissions are reviewed instead');
  t.match(json(defaultRole).detail, /default role/);
  const csv = await api('GET', `/reviews/holders?role=Codex%20Local&at=${both.toISOString()}&format=csv`, { as: 'compliance' });
  t.match(csv.headers['content-disposition'], /filename="holders-role-Codex-Local-[0-9T-]+Z\.csv"/);
  const html = await api('GET', `/reviews/holders?role=Codex%20Local&at=${both.toISOString()}&format=html`, { as: 'compliance' });
  t.match(html.body, /<h1>Holders of role Codex Local at /);

  t.equal((await api('GET', '/reviews/holders?role=No%20Such%20Role')).statusCode, 404);
  t.equal((await api('GET', '/reviews/holders?role=Default&permission=codex_admin')).statusCode, 400, 'one subject at a time');
});
