import t from 'tap';
import { createScimToken, revokeToken } from '../../../src/services/tokens.service.js';
import { ensureWorkspace } from '../../../src/repositories/workspaces.repository.js';
import { buildTestApp, TEST_ACTOR } from '../../helpers/app.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, ...extra });

t.test('Users endpoint', async (t) => {
  const ctx = await buildTestApp(t);
  const { scim, app, db } = ctx;
  const json = (body: string) => JSON.parse(body) as Record<string, any>;
  const userCount = async () => Number((await db.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  t.test('authentication', async (t) => {
    const missing = await app.inject({ method: 'GET', url: '/scim/v2/Users' });
    t.equal(missing.statusCode, 401);
    t.match(json(missing.body), { schemas: [ERROR], status: '401' });
    t.match(missing.headers['www-authenticate'], /Bearer/);
    const wrong = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer csb_nope' } });
    t.equal(wrong.statusCode, 401);
    const { id, token } = await createScimToken(db.db, { workspaceId: ctx.workspaceId }, TEST_ACTOR);
    const ok = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}` } });
    t.equal(ok.statusCode, 200);
    await revokeToken(db.db, id, TEST_ACTOR);
    const revoked = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}` } });
    t.equal(revoked.statusCode, 401);
    t.notMatch(revoked.body, token, 'the token is not echoed');
  });

  t.test('create, read, password never kept', async (t) => {
    const created = await scim('POST', '/Users', user('linus@example.com', { password: 'hunter2', name: { givenName: 'Linus' } }));
    t.equal(created.statusCode, 201);
    t.match(created.headers['content-type'], 'application/scim+json');
    const body = json(created.body);
    t.equal(created.headers.location, body.meta.location);
    t.equal(created.headers.etag, body.meta.version);
    t.notOk('password' in body, 'password not returned');
    t.equal(body.active, true, 'active defaults to true');
    const stored = await db.db.selectFrom('users').select('resource').where('id', '=', body.id).executeTakeFirstOrThrow();
    t.notMatch(JSON.stringify(stored), 'hunter2', 'password not stored');
    const read = await scim('GET', `/Users/${body.id}`);
    t.same(json(read.body), body);
  });

  t.test('bad input changes nothing', async (t) => {
    const before = await userCount();
    const cases: [string, unknown, number, string | undefined][] = [
      ['malformed JSON', '{"schemas": [', 400, 'invalidSyntax'],
      ['schemas not an array', { schemas: USER, userName: 'x@example.com' }, 400, 'invalidSyntax'],
      ['NUL in userName', user('x\u0000y@example.com'), 400, 'invalidValue'],
      ['lone surrogate in displayName', user('s@example.com', { displayName: 'a\udfff' }), 400, 'invalidValue'],
      ['9,000-character userName', user(`${'x'.repeat(9000)}@example.com`), 400, 'invalidValue'],
      ['missing userName', { schemas: [USER] }, 400, 'invalidValue'],
      ['wrong type', user('y@example.com', { active: 'maybe' }), 400, 'invalidValue'],
      ['array body', [user('z@example.com')], 400, undefined],
    ];
    for (const [name, payload, status, scimType] of cases) {
      const res = await scim('POST', '/Users', payload);
      t.equal(res.statusCode, status, name);
      const body = json(res.body);
      t.equal(body.status, String(status), `${name}: status string`);
      if (scimType) t.equal(body.scimType, scimType, `${name}: scimType`);
      t.type(body.detail, 'string');
    }
    t.equal(await userCount(), before, 'no user written');
  });

  t.test('over-long body is 413', async (t) => {
    const small = await buildTestApp(t, { bodyLimit: 2048 });
    const res = await small.scim('POST', '/Users', user('big@example.com', { displayName: 'x'.repeat(5000) }));
    t.equal(res.statusCode, 413);
    t.match(json(res.body), { schemas: [ERROR], status: '413' });
  });

  t.test('pagination, count=0, sorting and projection', async (t) => {
    const names = ['p3@example.com', 'p1@example.com', 'p2@example.com'];
    for (const name of names) t.equal((await scim('POST', '/Users', user(name, { title: 'pager' }))).statusCode, 201);
    const filter = encodeURIComponent('title eq "pager"');
    const page1 = json((await scim('GET', `/Users?filter=${filter}&startIndex=1&count=2&sortBy=userName`)).body);
    t.match(page1, { totalResults: 3, startIndex: 1, itemsPerPage: 2 });
    t.same(page1.Resources.map((r: any) => r.userName), ['p1@example.com', 'p2@example.com']);
    const page2 = json((await scim('GET', `/Users?filter=${filter}&startIndex=3&count=2&sortBy=userName`)).body);
    t.same(page2.Resources.map((r: any) => r.userName), ['p3@example.com']);
    t.equal(page2.totalResults, 3, 'a filtered page carries the count of every match, not of the page');
    const nothing = json((await scim('GET', `/Users?filter=${encodeURIComponent('title eq "nobody"')}`)).body);
    t.match(nothing, { totalResults: 0, itemsPerPage: 0, Resources: [] });
    const desc = json((await scim('GET', `/Users?filter=${filter}&sortBy=userName&sortOrder=descending`)).body);
    t.same(desc.Resources.map((r: any) => r.userName), ['p3@example.com', 'p2@example.com', 'p1@example.com']);
    const none = json((await scim('GET', `/Users?filter=${filter}&count=0`)).body);
    t.match(none, { totalResults: 3, itemsPerPage: 0, Resources: [] });
    const beyond = json((await scim('GET', `/Users?filter=${filter}&startIndex=10`)).body);
    t.match(beyond, { totalResults: 3, itemsPerPage: 0, Resources: [] });
    const projected = json((await scim('GET', `/Users?filter=${filter}&attributes=userName`)).body);
    t.same(Object.keys(projected.Resources[0]).sort(), ['id', 'schemas', 'userName']);
    const excluded = json((await scim('GET', `/Users?filter=${filter}&excludedAttributes=meta,groups`)).body);
    t.notOk('meta' in excluded.Resources[0]);
    const noMatch = json((await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody"')}`)).body);
    t.match(noMatch, { totalResults: 0, Resources: [] });
    const bad = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
    t.equal(bad.statusCode, 400);
    t.equal(json(bad.body).scimType, 'invalidFilter');
  });

  t.test('POST /.search', async (t) => {
    await scim('POST', '/Users', user('search@example.com'));
    const res = await scim('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName sw "search@"',
      attributes: ['userName'],
      startIndex: 1,
      count: 10,
    });
    t.equal(res.statusCode, 200);
    t.match(json(res.body), { totalResults: 1, Resources: [{ userName: 'search@example.com' }] });
  });

  t.test('ETags and If-Match', async (t) => {
    const created = json((await scim('POST', '/Users', user('etag@example.com'))).body);
    const patch = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] };
    const stale = await scim('PATCH', `/Users/${created.id}`, patch, { 'if-match': 'W/"99"' });
    t.equal(stale.statusCode, 412);
    const ok = await scim('PATCH', `/Users/${created.id}?attributes=title`, patch, { 'if-match': created.meta.version });
    t.equal(ok.statusCode, 200);
    t.same(Object.keys(json(ok.body)).sort(), ['id', 'schemas', 'title'], 'attributes honoured on PATCH');
    const del = await scim('DELETE', `/Users/${created.id}`, undefined, { 'if-match': created.meta.version });
    t.equal(del.statusCode, 412, 'old version cannot delete');
  });

  t.test('PUT rejects a different id and readOnly changes leave nothing half-applied', async (t) => {
    const created = json((await scim('POST', '/Users', user('put@example.com'))).body);
    const res = await scim('PUT', `/Users/${created.id}`, user('put@example.com', { id: '00000000-0000-4000-8000-000000000000', title: 'x' }));
    t.equal(res.statusCode, 400);
    t.equal(json(res.body).scimType, 'mutability');
    const after = json((await scim('GET', `/Users/${created.id}`)).body);
    t.notOk('title' in after);
    t.equal(after.meta.version, created.meta.version);
  });

  t.test('workspaces are isolated', async (t) => {
    const mine = json((await scim('POST', '/Users', user('mine@example.com'))).body);
    const { workspace } = await ensureWorkspace(db.db, 'other');
    const { token } = await createScimToken(db.db, { workspaceId: workspace.id }, TEST_ACTOR);
    const other = (method: 'GET' | 'DELETE', url: string) => app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
    t.equal((await other('GET', `/scim/v2/Users/${mine.id}`)).statusCode, 404);
    t.equal((await other('DELETE', `/scim/v2/Users/${mine.id}`)).statusCode, 404);
    t.match(json((await other('GET', '/scim/v2/Users')).body), { totalResults: 0 });
    const same = await app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify(user('mine@example.com')),
    });
    t.equal(same.statusCode, 201, 'the same userName may exist in another workspace');
  });
});
