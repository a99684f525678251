import t from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// Read access to users and groups: search, look-up by id / userName / email, keyset pages.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

t.test('users and groups for admins', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;

  const ids: Record<string, string> = {};
  const people: Array<[string, Record<string, unknown>]> = [
    ['ada@example.com', { name: { givenName: 'Ada', familyName: 'Lovelace' }, displayName: 'Ada Lovelace' }],
    ['grace@example.com', { displayName: 'Grace Hopper', emails: [{ value: 'grace.hopper@navy.example', type: 'work', primary: true }] }],
    ['Linus@Example.com', { active: false }],
    ['shared1@example.com', { emails: [{ value: 'team@example.com' }] }],
    ['shared2@example.com', { emails: [{ value: 'TEAM@example.com' }] }],
    ['percent%user@example.com', {}],
  ];
  for (let i = 0; i < 14; i++) people.push([`bulk${String(i).padStart(2, '0')}@example.com`, {}]);
  for (const [userName, extra] of people) {
    const res = await scim('POST', '/Users', { schemas: [USER], userName, externalId: `ext-${userName}`, ...extra });
    t.equal(res.statusCode, 201, userName);
    ids[userName] = json(res).id;
  }
  const bulk = Object.keys(ids).filter((u) => u.startsWith('bulk'));
  const engineers = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Engineers', members: bulk.map((u) => ({ value: ids[u] })) }));
  const pioneers = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'pioneers', externalId: 'grp-pioneers', members: [{ value: ids['ada@example.com'] }, { value: ids['grace@example.com'] }] }));
  await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Empty' });

  t.test('GET /users: search by name and email', async (t) => {
    const byName = json(await api('GET', '/users?search=lovelace'));
    t.same(byName.items.map((u: { userName: string }) => u.userName), ['ada@example.com']);
    t.match(byName.items[0], { id: ids['ada@example.com'], displayName: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', active: true, externalId: 'ext-ada@example.com' });
    const byEmail = json(await api('GET', '/users?search=navy.example'));
    t.same(byEmail.items.map((u: { userName: string }) => u.userName), ['grace@example.com']);
    const byFullName = json(await api('GET', '/users?search=ada%20lovelace'));
    t.equal(byFullName.items.length, 1, 'given and family name together');
    const literal = json(await api('GET', `/users?search=${encodeURIComponent('%')}`));
    t.same(literal.items.map((u: { userName: string }) => u.userName), ['percent%user@example.com'], '% is literal, not a wildcard');
    const inactive = json(await api('GET', '/users?active=false'));
    t.same(inactive.items.map((u: { userName: string }) => u.userName), ['Linus@Example.com']);
    t.same(json(await api('GET', '/users?search=nobody-at-all')), { items: [], nextCursor: null });
  });

  t.test('GET /users: keyset pages cover everyone exactly once, in userName order', async (t) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api('GET', `/users?limit=6${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      t.equal(res.statusCode, 200);
      const page = json(res);
      t.ok(page.items.length <= 6);
      seen.push(...page.items.map((u: { userName: string }) => u.userName));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    t.equal(pages, 4, '20 users in pages of 6');
    t.same(seen, [...people.map(([u]) => u)].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
  });

  t.test('validation errors name the parameter', async (t) => {
    const cases: Array<[string, string]> = [
      ['/users?limit=0', 'limit'],
      ['/users?limit=lots', 'limit'],
      ['/users?limit=501', 'limit'],
      ['/users?active=maybe', 'active'],
      ['/users?cursor=not-a-cursor', 'cursor'],
      [`/users?cursor=${Buffer.from(JSON.stringify(['a', 'not-a-uuid'])).toString('base64url')}`, 'cursor'],
      ['/groups?cursor=xyz', 'cursor'],
    ];
    for (const [url, field] of cases) {
      const res = await api('GET', url);
      t.equal(res.statusCode, 400, url);
      t.match(json(res), { statusCode: 400, error: 'Bad Request', field, message: new RegExp(field) }, url);
    }
  });

  t.test('GET /users/{id|userName|email}', async (t) => {
    const ada = ids['ada@example.com']!;
    for (const ref of [ada, 'ada@example.com', 'ADA@EXAMPLE.COM', 'linus@example.com', 'grace.hopper@navy.example']) {
      const res = await api('GET', `/users/${encodeURIComponent(ref)}`);
      t.equal(res.statusCode, 200, ref);
    }
    t.equal(json(await api('GET', '/users/grace.hopper@navy.example')).id, ids['grace@example.com'], 'by email');
    const ambiguous = await api('GET', '/users/team@example.com');
    t.equal(ambiguous.statusCode, 409, 'an email two users share');
    t.match(json(ambiguous).message, /Several users/);
    const missing = await api('GET', '/users/nobody@example.com');
    t.equal(missing.statusCode, 404);
    t.match(json(missing), { statusCode: 404, error: 'Not Found', message: /No user "nobody@example.com"/ });
    t.equal((await api('GET', '/users/00000000-0000-0000-0000-000000000000')).statusCode, 404);
  });

  t.test("GET /users/{user}/groups", async (t) => {
    const res = json(await api('GET', '/users/ada@example.com/groups'));
    t.equal(res.user.id, ids['ada@example.com']);
    t.same(res.items, [{ id: pioneers.id, displayName: 'pioneers', externalId: 'grp-pioneers' }]);
    t.equal(res.nextCursor, null);
    t.same(json(await api('GET', `/users/${ids['Linus@Example.com']}/groups`)).items, []);
    t.equal((await api('GET', '/users/nobody/groups')).statusCode, 404);
  });

  t.test('GET /groups, /groups/{id}, /groups/{id}/members', async (t) => {
    const all = json(await api('GET', '/groups'));
    t.same(all.items.map((g: { displayName: string; memberCount: number }) => [g.displayName, g.memberCount]), [
      ['Empty', 0],
      ['Engineers', 14],
      ['pioneers', 2],
    ]);
    t.same(json(await api('GET', '/groups?search=PIONEER')).items.map((g: { id: string }) => g.id), [pioneers.id]);
    t.same(json(await api('GET', '/groups?search=grp-pio')).items.map((g: { id: string }) => g.id), [pioneers.id], 'by externalId');
    const page1 = json(await api('GET', '/groups?limit=2'));
    t.equal(page1.items.length, 2);
    const page2 = json(await api('GET', `/groups?limit=2&cursor=${page1.nextCursor}`));
    t.same(page2.items.map((g: { displayName: string }) => g.displayName), ['pioneers']);
    t.equal(page2.nextCursor, null);

    t.match(json(await api('GET', `/groups/${engineers.id}`)), { id: engineers.id, displayName: 'Engineers', memberCount: 14 });
    t.equal((await api('GET', '/groups/00000000-0000-0000-0000-000000000000')).statusCode, 404);

    const members: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = json(await api('GET', `/groups/${engineers.id}/members?limit=5${cursor ? `&cursor=${cursor}` : ''}`));
      members.push(...page.items.map((m: { id: string }) => m.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    t.equal(pages, 3);
    t.same(members, bulk.map((u) => ids[u]).sort(), 'every member once, in id order');
    t.equal((await api('GET', '/groups/00000000-0000-0000-0000-000000000000/members')).statusCode, 404);
  });

  t.test('unknown admin paths: 401 without a token, 404 with one', async (t) => {
    t.equal((await api('GET', '/nothing-here', { as: null })).statusCode, 401);
    const res = await api('GET', '/nothing-here');
    t.equal(res.statusCode, 404);
    t.match(json(res), { statusCode: 404, error: 'Not Found' });
  });
});
