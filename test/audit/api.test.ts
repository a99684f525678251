import t from 'tap';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';
import { addMembers, createGroup, createUser, patchGroup, removeMemberByFilter, sleep } from './helpers.js';

// The auditors' endpoints over a history made through the real SCIM API: filters and cursors,
// histories, point-in-time answers from events, verify, retention, and who may read any of it.

const ctx = await buildAdminTestApp(t);
const { api, scim } = ctx;

/** An instant strictly between what happened before it and what happens after it. */
async function mark(): Promise<Date> {
  await sleep(3);
  const at = new Date();
  await sleep(3);
  return at;
}

const t0 = await mark();
const alice = await createUser(ctx, 'alice@example.com');
const bob = await createUser(ctx, 'bob@example.com');
const carol = await createUser(ctx, 'carol@example.com');
const local = await createGroup(ctx, 'codex-local-users', [alice]);
const t1 = await mark();
await patchGroup(ctx, local, [addMembers([bob])]);
await patchGroup(ctx, local, [removeMemberByFilter(alice)]);
const t2 = await mark();
const admins = await createGroup(ctx, 'codex-admins', [carol, bob]);
const t2b = await mark();
await scim('PATCH', `/Users/${carol}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
const t3 = await mark();
await scim('DELETE', `/Users/${bob}`);
const t4 = await mark();

const allEvents = async (query: string) => {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await api('GET', `/audit/events?${query}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { as: 'compliance' });
    if (res.statusCode !== 200) throw new Error(res.body);
    const page = json(res);
    if (page.items.length > 2) throw new Error(`page of ${page.items.length}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
};

t.test('events: everything, in seq order, pages joined by cursors', async (t) => {
  const res = await api('GET', '/audit/events?limit=1000', { as: 'compliance' });
  t.equal(res.statusCode, 200);
  const all = json(res).items;
  t.ok(all.length > 10);
  t.same(all.map((e: any) => e.seq), [...all.map((e: any) => e.seq)].sort((a: number, b: number) => a - b), 'seq order');
  t.match(all.find((e: any) => e.type === 'group.member_added'), {
    id: String,
    occurredAt: String,
    actor: { type: 'scim', id: String },
    requestId: String,
    target: { type: 'group', id: local },
    data: { userId: alice },
    leafIndex: Number,
    hash: null,
    prevHash: null,
  });
  t.same(all.map((e: any) => e.leafIndex), all.map((_: unknown, i: number) => i), 'sealed before the listing: leaves 0, 1, 2, … in seq order');
  const paged = await allEvents('order=asc');
  t.same(paged.map((e) => e.id), all.map((e: any) => e.id), 'cursor pages add up to the whole');
  const desc = json(await api('GET', '/audit/events?order=desc&limit=3', { as: 'owner' }));
  t.same(desc.items.map((e: any) => e.id), all.slice(-3).reverse().map((e: any) => e.id));
  const next = json(await api('GET', `/audit/events?order=desc&limit=3&cursor=${desc.nextCursor}`, { as: 'owner' }));
  t.same(next.items.map((e: any) => e.id), all.slice(-6, -3).reverse().map((e: any) => e.id));
});

t.test('events: filters', async (t) => {
  const members = await allEvents('type=group.member_added,group.member_removed');
  const of = (group: string) => members.filter((e) => e.target.id === group).map((e) => [e.type, e.data.userId]);
  t.same(of(local), [
    ['group.member_added', alice],
    ['group.member_added', bob],
    ['group.member_removed', alice],
    ['group.member_removed', bob],
  ]);
  t.same(of(admins).slice(0, 2).sort(), [['group.member_added', bob], ['group.member_added', carol]].sort(), 'one event per member');
  t.same(of(admins).slice(2), [['group.member_removed', bob]]);
  t.equal(members.length, 7);
  const wildcard = await allEvents('type=group.*');
  t.ok(wildcard.length > members.length && wildcard.every((e) => e.type.startsWith('group.')), 'group.* prefix');

  const aboutAlice = await allEvents(`userId=${alice}`);
  t.same(
    aboutAlice.map((e) => e.type),
    ['user.created', 'group.member_added', 'access.changed', 'group.member_removed', 'access.changed'],
    "alice's lifecycle, memberships and access",
  );
  const aliceAccess = aboutAlice.filter((e) => e.type === 'access.changed');
  t.same(aliceAccess.map((e) => [e.data.granted, e.data.revoked]), [[['codex_local'], []], [[], ['codex_local']]]);
  t.equal(aliceAccess[0].causeId, aboutAlice[1].id, 'access.changed names the member event that caused it');

  const aboutAdmins = await allEvents(`groupId=${admins}`);
  t.same(aboutAdmins.map((e) => e.type), ['group.created', 'group.member_added', 'group.member_added', 'group.member_removed']);

  const window = await allEvents(`from=${t1.toISOString()}&to=${t2.toISOString()}&type=group.member_added,group.member_removed`);
  t.same(window.map((e) => [e.type, e.data.userId]), [['group.member_added', bob], ['group.member_removed', alice]], 'time range');

  const scimActor = aboutAlice[0].actor.id;
  const byActor = await allEvents(`actor=${encodeURIComponent(scimActor)}&actorType=scim&type=user.created`);
  t.equal(byActor.length, 3);
  t.same(await allEvents('actor=nobody'), []);

  const first = json(await api('GET', '/audit/events?type=group.member_added&limit=1', { as: 'owner' }));
  const mismatched = await api('GET', `/audit/events?type=group.member_removed&limit=1&cursor=${first.nextCursor}`, { as: 'owner' });
  t.equal(mismatched.statusCode, 400, 'a cursor is bound to its filters');
  t.match(json(mismatched), { field: 'cursor' });
  t.equal((await api('GET', '/audit/events?cursor=garbage', { as: 'owner' })).statusCode, 400);
  t.equal((await api('GET', '/audit/events?type=Not%20A%20Type', { as: 'owner' })).statusCode, 400);
  t.equal((await api('GET', '/audit/events?from=yesterday', { as: 'owner' })).statusCode, 400);
  t.equal((await api('GET', `/audit/events?from=${t2.toISOString()}&to=${t1.toISOString()}`, { as: 'owner' })).statusCode, 400);
  t.equal((await api('GET', '/audit/events?userId=alice', { as: 'owner' })).statusCode, 400);
});

t.test('histories of a user and a group', async (t) => {
  const byName = json(await api('GET', '/users/alice@example.com/history?type=group.*', { as: 'compliance' }));
  t.equal(byName.userId, alice);
  t.same(byName.items.map((e: any) => e.type), ['group.member_added', 'group.member_removed']);
  // Bob is deleted: his history is still there, by id.
  const deleted = json(await api('GET', `/users/${bob}/history?limit=100`, { as: 'compliance' }));
  t.same(
    deleted.items.map((e: any) => e.type),
    ['user.created', 'group.member_added', 'access.changed', 'group.member_added', 'access.changed', 'group.member_removed', 'group.member_removed', 'user.deleted', 'access.changed'],
  );
  t.equal((await api('GET', '/users/bob@example.com/history', { as: 'compliance' })).statusCode, 404, 'a deleted user is no longer found by name');
  const group = json(await api('GET', `/groups/${local}/history`, { as: 'compliance' }));
  t.same(group.items.map((e: any) => [e.type, e.data.userId ?? null]), [
    ['group.created', null],
    ['group.member_added', alice],
    ['group.member_added', bob],
    ['group.member_removed', alice],
    ['group.member_removed', bob],
  ]);
});

t.test('members of a group as of an instant, replayed from events', async (t) => {
  const asOf = async (group: string, at: Date) => {
    const res = await api('GET', `/groups/${group}/members/as-of?at=${at.toISOString()}`, { as: 'compliance' });
    t.equal(res.statusCode, 200, res.body);
    return json(res);
  };
  const before = await asOf(local, t0);
  t.same(before.members, []);
  t.equal(before.group.state, 'not_created');
  const at1 = await asOf(local, t1);
  t.same(at1.members.map((m: any) => m.userId), [alice]);
  t.match(at1, { group: { id: local, displayName: 'codex-local-users', state: 'exists' }, basis: { historyStartsAt: null, checkpointSeq: null } });
  t.match(at1.members[0], { since: String, eventId: String });
  t.same((await asOf(local, t2)).members.map((m: any) => m.userId), [bob]);
  t.same((await asOf(local, t4)).members, [], 'bob left when he was deleted');
  t.same((await asOf(admins, t3)).members.map((m: any) => m.userId), [bob, carol].sort());
  t.same((await asOf(admins, t4)).members.map((m: any) => m.userId), [carol], 'a deactivated user stays a member');

  const page1 = json(await api('GET', `/groups/${admins}/members/as-of?at=${t3.toISOString()}&limit=1`, { as: 'owner' }));
  t.equal(page1.members.length, 1);
  const page2 = json(await api('GET', `/groups/${admins}/members/as-of?at=${t3.toISOString()}&limit=1&cursor=${page1.nextCursor}`, { as: 'owner' }));
  t.same([...page1.members, ...page2.members].map((m: any) => m.userId), [bob, carol].sort());
  t.equal(page2.nextCursor, null);

  t.equal((await api('GET', `/groups/${crypto.randomUUID()}/members/as-of?at=${t4.toISOString()}`, { as: 'owner' })).statusCode, 404);
  t.equal((await api('GET', `/groups/${local}/members/as-of`, { as: 'owner' })).statusCode, 400, 'at is required');
});

t.test("a user's effective permissions as of an instant, with the change that set them", async (t) => {
  const asOf = async (user: string, at: Date) => {
    const res = await api('GET', `/users/${user}/effective-permissions/as-of?at=${at.toISOString()}`, { as: 'compliance' });
    t.equal(res.statusCode, 200, res.body);
    return json(res);
  };
  const a1 = await asOf(alice, t1);
  t.match(a1, {
    user: { id: alice, userName: 'alice@example.com', state: 'active' },
    granted: ['codex_local'],
    source: 'event',
    changedBy: { eventId: String, actor: { type: 'scim' }, cause: { type: 'group.member_added', targetType: 'group', targetId: local } },
  });
  t.same(a1.groups.map((g: any) => g.groupId), [local]);
  t.same((await asOf(alice, t2)).granted, []);
  t.same((await asOf(alice, t0)).granted, []);
  t.equal((await asOf(alice, t0)).user.state, 'not_created');

  const all = ['access_tokens', 'agent_internet', 'code_review', 'codex_admin', 'codex_cloud', 'codex_local', 'codex_security', 'codex_security_admin'];
  t.same((await asOf(carol, t2b)).granted, all, 'codex-admins grants everything');
  t.same(await asOf(carol, t3).then((r) => [r.user.state, r.granted]), ['deactivated', []], 'deactivation ends access');
  const bobBefore = await asOf(bob, t3);
  t.same(bobBefore.granted, all);
  const bobAfter = await asOf(bob, t4);
  t.match(bobAfter, { user: { state: 'deleted' }, granted: [], changedBy: { cause: { type: 'user.deleted' } } });
  t.same(bobAfter.groups, []);
  t.equal((await api('GET', `/users/alice@example.com/effective-permissions/as-of?at=${t1.toISOString()}`, { as: 'owner' })).statusCode, 200, 'by userName while the user exists');
  t.equal((await api('GET', `/users/${crypto.randomUUID()}/effective-permissions/as-of?at=${t1.toISOString()}`, { as: 'owner' })).statusCode, 404);
});

t.test('verify over the API', async (t) => {
  const res = await api('GET', '/audit/verify', { as: 'compliance' });
  t.equal(res.statusCode, 200);
  t.match(json(res), { ok: true, workspaceId: ctx.workspaceId, anchor: { seq: 0 }, tree: { size: Number, rootHash: String, signed: false }, checkpoint: null });
  t.equal(json(res).checked, json(res).tree.size, 'every leaf checked against its event');
});

t.test('retention setting: read by auditors, set by the owner, recorded', async (t) => {
  t.same(json(await api('GET', '/audit/retention', { as: 'compliance' })), { retentionDays: null, source: 'default' });
  t.equal((await api('PUT', '/audit/retention', { as: 'compliance', body: { retentionDays: 30 } })).statusCode, 403);
  t.equal((await api('PUT', '/audit/retention', { as: 'owner', body: { retentionDays: 0 } })).statusCode, 400);
  const set = await api('PUT', '/audit/retention', { as: 'owner', body: { retentionDays: 400 } });
  t.equal(set.statusCode, 200);
  t.same(json(set), { retentionDays: 400, source: 'workspace' });
  const [event] = json(await api('GET', '/audit/events?type=workspace.settings_changed&order=desc&limit=1', { as: 'compliance' })).items;
  t.match(event, { actor: { type: 'admin' }, data: { changed: ['auditRetentionDays'], before: { auditRetentionDays: null }, after: { auditRetentionDays: 400 } } });
  t.same(json(await api('PUT', '/audit/retention', { as: 'owner', body: { retentionDays: 'default' } })), { retentionDays: null, source: 'default' });
});

t.test('only the compliance and owner roles read the trail', async (t) => {
  const urls = [
    '/audit/events',
    `/users/${alice}/history`,
    `/groups/${local}/history`,
    `/groups/${local}/members/as-of?at=${t1.toISOString()}`,
    `/users/${alice}/effective-permissions/as-of?at=${t1.toISOString()}`,
    '/audit/verify',
    '/audit/exports',
    `/audit/exports/${t1.toISOString().slice(0, 13)}Z.jsonl`,
    '/audit/retention',
  ];
  for (const url of urls) {
    t.equal((await api('GET', url, { as: 'owner' })).statusCode, 200, `owner ${url}`);
    t.equal((await api('GET', url, { as: 'compliance' })).statusCode, 200, `compliance ${url}`);
    const asCodexAdmin = await api('GET', url, { as: 'codex-admin' });
    if (url.endsWith('/groups/' + local + '/history')) {
      t.equal(asCodexAdmin.statusCode, 200, `codex-admin ${url}: a group's own history is open to them`);
    } else {
      t.equal(asCodexAdmin.statusCode, 403, `codex-admin ${url}`);
      t.match(json(asCodexAdmin), { statusCode: 403, error: 'Forbidden', message: /compliance/ });
    }
    t.equal((await api('GET', url, { as: null })).statusCode, 401, `anonymous ${url}`);
  }
  t.equal((await api('PUT', '/audit/retention', { as: 'codex-admin', body: { retentionDays: 30 } })).statusCode, 403);
  // SCIM tokens are not admin credentials.
  t.equal((await api('GET', '/audit/events', { as: { token: ctx.scimToken } })).statusCode, 401);
});

t.test('the OpenAPI document names the audit roles', async (t) => {
  const doc = json(await ctx.app.inject({ method: 'GET', url: '/openapi.json' }));
  const op = doc.paths['/api/v1/audit/events'].get;
  t.match(op.description, /Roles: owner, compliance\.$/);
  t.notMatch(op.description, /codex-admin/);
  t.ok(doc.paths['/api/v1/groups/{id}/members/as-of'] && doc.paths['/api/v1/users/{user}/effective-permissions/as-of'] && doc.paths['/api/v1/audit/exports/{file}']);
});
