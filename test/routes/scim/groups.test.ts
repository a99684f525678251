import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestApp, secondInstance, type TestApp } from '../../helpers/app.js';
import { scaled } from '../../helpers/db.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const json = (body: string) => JSON.parse(body) as Record<string, any>;
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

/** Inserts n users straight into the table (fast seeding for size tests). */
async function seedUsers(app: TestApp, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  for (let i = 0; i < n; i += 5000) {
    const rows = ids.slice(i, i + 5000).map((id, j) => {
      const userName = `seed-${i + j}-${id.slice(0, 8)}@example.com`;
      return { id, workspace_id: app.workspaceId, user_name: userName, resource: JSON.stringify({ userName, active: true }) };
    });
    await app.db.db.insertInto('users').values(rows).execute();
  }
  return ids;
}

async function memberIds(app: TestApp, groupId: string): Promise<string[]> {
  const rows = await app.db.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).execute();
  return rows.map((r) => r.user_id).sort();
}

async function auditCount(app: TestApp, type: string, groupId: string): Promise<number> {
  const row = await app.db.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('event_type', '=', type)
    .where('target_id', '=', groupId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function createGroup(app: TestApp, displayName: string, members: string[] = []): Promise<string> {
  const res = await app.scim('POST', '/Groups?excludedAttributes=members', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
  if (res.statusCode !== 201) throw new Error(res.body);
  return json(res.body).id as string;
}

t.test('membership forms', async (t) => {
  const app = await buildTestApp(t);
  const users = await seedUsers(app, 6);
  const [a, b, c, d, e, f] = users as [string, string, string, string, string, string];
  const gid = await createGroup(app, 'forms', [a, b]);
  t.same(await memberIds(app, gid), [a, b].sort(), 'POST with members');

  const put = await app.scim('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'forms', members: [{ value: b }, { value: c }, { value: d }] });
  t.equal(put.statusCode, 200);
  t.same(await memberIds(app, gid), [b, c, d].sort(), 'PUT applies the difference');
  t.equal(await auditCount(app, 'group.member_removed', gid), 1, 'only a was removed');
  t.equal(await auditCount(app, 'group.member_added', gid), 4, 'a, b at create; c, d by the PUT');

  const ordered = await app.scim('PATCH', `/Groups/${gid}`, patch(
    { op: 'add', path: 'members', value: [{ value: e }] },
    { op: 'remove', path: 'members', value: [{ value: e }, { value: b }] },
    { op: 'add', path: 'members', value: [{ value: e }, { value: f }] },
  ));
  t.equal(ordered.statusCode, 200);
  t.same(await memberIds(app, gid), [c, d, e, f].sort(), 'ops applied in order');

  await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'replace', path: 'members', value: [{ value: a }] }));
  t.same(await memberIds(app, gid), [a], 'replace of members');

  const noop = await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: a }] }, { op: 'remove', path: 'members[value eq "' + b + '"]' }));
  t.equal(noop.statusCode, 200, 'adding a present and removing an absent member succeed');
  t.equal(noop.headers.etag, (await app.scim('GET', `/Groups/${gid}`)).headers.etag, 'and change nothing');

  await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: 'members' }));
  t.same(await memberIds(app, gid), [], 'remove without value empties the group');

  await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] }));
  t.equal((await app.scim('DELETE', `/Users/${a}`)).statusCode, 204);
  t.same(await memberIds(app, gid), [b], 'deleting a user removes their memberships');

  const other = await app.scim('POST', '/Users', { schemas: [USER], userName: 'x@example.com' });
  t.equal(other.statusCode, 201);
  const bad = await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: 'not-a-uuid' }] }));
  t.equal(bad.statusCode, 400);
  t.equal(json(bad.body).scimType, 'invalidValue');

  t.equal((await app.scim('DELETE', `/Groups/${gid}`)).statusCode, 204);
  t.same(await memberIds(app, gid), [], 'deleting a group removes its memberships');
  t.equal(await auditCount(app, 'group.deleted', gid), 1);
});

t.test('members of another workspace are refused', async (t) => {
  const app = await buildTestApp(t);
  const gid = await createGroup(app, 'mine');
  const { ensureWorkspace } = await import('../../../src/repositories/workspaces.repository.js');
  const { workspace } = await ensureWorkspace(app.db.db, 'elsewhere');
  const stranger = randomUUID();
  await app.db.db.insertInto('users').values({ id: stranger, workspace_id: workspace.id, user_name: 's@example.com', resource: '{"userName":"s@example.com"}' }).execute();
  const res = await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: stranger }] }));
  t.equal(res.statusCode, 400);
  t.match(json(res.body).detail, stranger);
  t.same(await memberIds(app, gid), []);
});

t.test('large groups: bounded PATCH responses, streamed GETs, set-based PUT', async (t) => {
  const app = await buildTestApp(t, { maxInlineMembers: 100 });
  // More than one 5,000-member chunk of the streamed GET either way.
  const size = scaled(12_000, 6_000);
  const users = await seedUsers(app, size);
  const gid = await createGroup(app, 'big');
  const put = await app.scim('PUT', `/Groups/${gid}?excludedAttributes=members`, { schemas: [GROUP], displayName: 'big', members: users.map((value) => ({ value })) });
  t.equal(put.statusCode, 200);
  t.notOk('members' in json(put.body));
  t.equal((await memberIds(app, gid)).length, size);
  t.equal(await auditCount(app, 'group.member_added', gid), size, 'one event per member');

  const extra = (await seedUsers(app, 1))[0]!;
  const add = await app.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: extra }] }));
  t.equal(add.statusCode, 204, 'a large group answers 204 rather than serialising members nobody asked for');
  t.equal(add.body, '');
  const asked = await app.scim('PATCH', `/Groups/${gid}?excludedAttributes=members`, patch({ op: 'remove', path: `members[value eq "${extra}"]` }));
  t.equal(asked.statusCode, 200, 'explicit projection gets a 200 body');
  t.equal(json(asked.body).displayName, 'big');

  const full = await app.scim('GET', `/Groups/${gid}`);
  t.equal(full.statusCode, 200);
  const body = json(full.body);
  t.equal(body.members.length, size, 'members streamed across several chunks');
  t.same(body.members.map((m: any) => m.value).sort(), [...users].sort());
  t.match(body.members[0], { value: String, $ref: /\/Users\//, display: /@example\.com/, type: 'User' });
  const valuesOnly = json((await app.scim('GET', `/Groups/${gid}?attributes=members.value`)).body);
  t.same(Object.keys(valuesOnly.members[0]), ['value']);

  const small = await createGroup(app, 'small', users.slice(0, 2));
  const smallPatch = await app.scim('PATCH', `/Groups/${small}`, patch({ op: 'add', path: 'members', value: [{ value: users[2] }] }));
  t.equal(smallPatch.statusCode, 200);
  t.equal(json(smallPatch.body).members.length, 3, 'a small group answers 200 with its members');

  const list = json((await app.scim('GET', `/Groups?filter=${encodeURIComponent('displayName sw "s"')}`)).body);
  t.match(list, { totalResults: 1, Resources: [{ displayName: 'small' }] });
  t.equal(list.Resources[0].members.length, 3);
});

t.test('concurrent PATCHes to one group lose nothing and apply each op once', async (t) => {
  const first = await buildTestApp(t);
  const viaSecond = await secondInstance(t, first);

  const users = await seedUsers(first, 160);
  const initial = users.slice(0, 80); // half of these get removed
  const toRemove = initial.filter((_, i) => i % 2 === 0);
  const toAdd = users.slice(80);
  const gid = await createGroup(first, 'raced', initial);

  const requests: Promise<{ statusCode: number }>[] = [];
  // As an IdP does: a 503 (the pool saturated by 100 writes queued on one group's lock, on a loaded
  // machine) is sent again after a pause. Every other answer is final.
  const retrying =
    (send: typeof viaSecond): typeof viaSecond =>
    async (...args) => {
      for (let attempt = 1; ; attempt++) {
        const res = await send(...args);
        if (res.statusCode !== 503 || attempt === 5) return res;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    };
  for (let i = 0; i < 40; i++) {
    const send = retrying(i % 2 === 0 ? first.scim : viaSecond);
    const adds = toAdd.slice(i * 2, i * 2 + 2).map((value) => ({ value }));
    const remove = toRemove[i];
    requests.push(send('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: adds })));
    if (remove) requests.push(send('PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${remove}"]` })));
    // Entra re-sends: a duplicate remove and add must be harmless.
    if (remove && i % 5 === 0) requests.push(send('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ value: remove }] })));
  }
  const responses = await Promise.all(requests);
  t.same(responses.filter((r) => r.statusCode !== 200 && r.statusCode !== 204).map((r) => `${r.statusCode} ${(r as { body?: string }).body ?? ''}`), [], 'every PATCH succeeded');
  const expected = [...initial.filter((id) => !toRemove.includes(id)), ...toAdd].sort();
  t.same(await memberIds(first, gid), expected, 'final membership is exactly the expected set');
  t.equal(await auditCount(first, 'group.member_added', gid), initial.length + toAdd.length, 'each add recorded once');
  t.equal(await auditCount(first, 'group.member_removed', gid), toRemove.length, 'each remove recorded once');
  const version = json((await first.scim('GET', `/Groups/${gid}?attributes=id`)).body).meta;
  t.equal(version, undefined, 'projection drops meta');
});
