import t from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// Extension schemas declared per workspace over the admin API: what SCIM discovery then shows,
// what is validated, refused and audited, and the store/reject policy for undeclared attributes.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CUSTOM = 'urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User';
const OKTA = 'urn:okta:codex:1.0:profile:Group';
const path = (urn: string) => `/scim/schemas/${encodeURIComponent(urn)}`;

const declaration = {
  name: 'CustomExt',
  description: 'Attributes the Entra admin mapped',
  resourceTypes: ['User'],
  attributes: [
    { name: 'costCenterCode', type: 'string', description: 'Finance cost centre' },
    { name: 'clearance', type: 'integer' },
    { name: 'site', type: 'complex', subAttributes: [{ name: 'code', type: 'string', caseExact: true }, { name: 'floor', type: 'integer' }] },
  ],
};

t.test('declaring, using and removing an extension schema', async (t) => {
  const app = await buildAdminTestApp(t);
  const { api, scim } = app;

  t.test('declare, then discovery shows it', async (t) => {
    const created = await api('PUT', path(CUSTOM), { body: declaration });
    t.equal(created.statusCode, 201, created.body);
    t.match(json(created), { urn: CUSTOM, name: 'CustomExt', resourceTypes: ['User'], attributes: [{ name: 'costCenterCode' }, { name: 'clearance' }, { name: 'site' }] });
    t.equal((await api('PUT', path(CUSTOM), { body: declaration })).statusCode, 200, 'the same declaration again is a no-op 200');

    const schemas = json(await scim('GET', '/Schemas'));
    const custom = schemas.Resources.find((s: { id: string }) => s.id === CUSTOM);
    t.match(custom, { name: 'CustomExt', attributes: [{ name: 'costCenterCode', type: 'string', multiValued: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' }] });
    t.match(custom.attributes[2].subAttributes, [{ name: 'code', caseExact: true }, { name: 'floor', type: 'integer' }]);
    t.equal((await scim('GET', `/Schemas/${CUSTOM}`)).statusCode, 200);
    const userType = json(await scim('GET', '/ResourceTypes/User'));
    t.same(userType.schemaExtensions.map((e: { schema: string }) => e.schema), ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', CUSTOM]);
    t.same(json(await scim('GET', '/ResourceTypes/Group')).schemaExtensions, [], 'a User extension is not offered on Groups');
  });

  t.test('values are validated, stored, filtered with caseExact respected', async (t) => {
    const ok = await scim('POST', '/Users', { schemas: [USER, CUSTOM], userName: 'ada@example.com', [CUSTOM]: { costCenterCode: 'CC-1', site: { code: 'LDN', floor: 3 } } });
    t.equal(ok.statusCode, 201, ok.body);
    const bad = await scim('POST', '/Users', { schemas: [USER, CUSTOM], userName: 'bob@example.com', [CUSTOM]: { clearance: 'high' } });
    t.match(json(bad), { status: '400', scimType: 'invalidValue', detail: /clearance/ });
    const exact = (value: string) => scim('GET', `/Users?filter=${encodeURIComponent(`site.code eq "${value}"`)}`);
    t.equal(json(await exact('LDN')).totalResults, 1);
    t.equal(json(await exact('ldn')).totalResults, 0, 'caseExact sub-attribute');
    t.equal(json(await scim('GET', `/Users?filter=${encodeURIComponent('costcentercode eq "cc-1"')}`)).totalResults, 1, 'not caseExact, name any case');
  });

  t.test('a change that would orphan stored values needs force, and is audited', async (t) => {
    const narrower = { ...declaration, attributes: declaration.attributes.filter((a) => a.name !== 'site') };
    const refused = await api('PUT', path(CUSTOM), { body: narrower });
    t.equal(refused.statusCode, 409);
    t.match(json(refused).message, /User:site \(1\)/);
    const forced = await api('PUT', `${path(CUSTOM)}?force=true`, { body: narrower });
    t.equal(forced.statusCode, 200);
    const user = json(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ada@example.com"')}`)).Resources[0];
    t.same(user[CUSTOM], { costCenterCode: 'CC-1', site: { code: 'LDN', floor: 3 } }, 'the value is kept and returned');
    const events = json(await api('GET', '/audit/events?type=scim.extension_changed'));
    t.match(events.items[0], { type: 'scim.extension_changed', data: { urn: CUSTOM, forced: true, affected: { 'User:site': 1 } } });

    t.equal((await api('DELETE', path(CUSTOM))).statusCode, 409, 'removing a schema with values needs force');
    t.equal((await api('DELETE', `${path(CUSTOM)}?force=true`)).statusCode, 204);
    t.equal((await scim('GET', `/Schemas/${CUSTOM}`)).statusCode, 404);
    t.match(json(await api('GET', '/audit/events?type=scim.extension_removed')).items[0], { data: { urn: CUSTOM, forced: true } });
    const after = json(await scim('GET', `/Users/${user.id}`));
    t.same(after[CUSTOM], { costCenterCode: 'CC-1', site: { code: 'LDN', floor: 3 } }, 'still stored, now verbatim');
  });

  t.test('group extensions with Okta-style URNs', async (t) => {
    const res = await api('PUT', path(OKTA), { body: { name: 'OktaGroupProfile', resourceTypes: ['Group'], attributes: [{ name: 'owner', type: 'string' }] } });
    t.equal(res.statusCode, 201, res.body);
    const group = await scim('POST', '/Groups', { schemas: [GROUP, OKTA], displayName: 'codex-admins', [OKTA]: { owner: 'it-security' } });
    t.equal(group.statusCode, 201, group.body);
    t.same(json(group).schemas, [GROUP, OKTA]);
    t.equal(json(await scim('GET', `/Groups?filter=${encodeURIComponent('owner eq "it-security"')}`)).totalResults, 1, 'filtered by bare name');
  });

  t.test('invalid declarations name every problem and change nothing', async (t) => {
    const cases: [string, string, unknown, RegExp][] = [
      ['built-in URN', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', declaration, /built-in/],
      ['duplicate names', CUSTOM, { ...declaration, attributes: [{ name: 'a', type: 'string' }, { name: 'A', type: 'string' }] }, /declared twice/],
      ['complex without sub-attributes', CUSTOM, { ...declaration, attributes: [{ name: 'a', type: 'complex' }] }, /needs sub-attributes/],
      ['bad attribute name', CUSTOM, { ...declaration, attributes: [{ name: '1st', type: 'string' }] }, /must start with a letter/],
      ['uniqueness of a multi-valued attribute', CUSTOM, { ...declaration, attributes: [{ name: 'a', type: 'string', multiValued: true, uniqueness: 'server' }] }, /single-valued/],
    ];
    for (const [name, urn, body, message] of cases) {
      const res = await api('PUT', path(urn), { body });
      t.equal(res.statusCode, 400, name);
      t.match(json(res).message, message, name);
    }
    const unknownType = await api('PUT', path(CUSTOM), { body: { ...declaration, attributes: [{ name: 'a', type: 'uuid' }] } });
    t.equal(unknownType.statusCode, 400, 'shape errors come from the route schema');
    t.equal((await api('GET', path(CUSTOM))).statusCode, 404, 'nothing was declared');
  });

  t.test('uniqueness server: no two users hold the same value, compared as caseExact says', async (t) => {
    const BADGE = 'urn:example:Badges:2.0:User';
    const res = await api('PUT', path(BADGE), { body: { name: 'Badges', resourceTypes: ['User'], attributes: [{ name: 'badgeId', type: 'string', uniqueness: 'server' }] } });
    t.equal(res.statusCode, 201, res.body);
    const post = (userName: string, badgeId: string) => scim('POST', '/Users', { schemas: [USER, BADGE], userName, [BADGE]: { badgeId } });
    const first = await post('b1@example.com', 'B-100');
    t.equal(first.statusCode, 201);
    const taken = await post('b2@example.com', 'b-100');
    t.match(json(taken), { status: '409', scimType: 'uniqueness', detail: /badgeId/ }, 'case-insensitive unless caseExact');
    const second = json(await post('b3@example.com', 'B-200'));
    const moved = await scim('PATCH', `/Users/${second.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'badgeId', value: 'B-100' }] });
    t.equal(moved.statusCode, 409, 'a PATCH to a taken value is refused too');
    const same = await scim('PATCH', `/Users/${json(first).id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'B One' }] });
    t.equal(same.statusCode, 200, 'a resource never collides with itself');
    const raced = await Promise.all([post('r1@example.com', 'B-300'), post('r2@example.com', 'B-300')]);
    t.same(raced.map((r) => r.statusCode).sort(), [201, 409], 'two concurrent writers of one value: one wins');
  });

  t.test('compliance may read, not declare', async (t) => {
    t.equal((await api('GET', '/scim/schemas', { as: 'compliance' })).statusCode, 200);
    t.equal((await api('PUT', path(CUSTOM), { body: declaration, as: 'compliance' })).statusCode, 403);
    t.equal((await api('PUT', path(CUSTOM), { body: declaration, as: 'codex-admin' })).statusCode, 201, 'codex-admins declare');
  });
});

t.test('undeclared attributes: store (default) and reject', async (t) => {
  const app = await buildAdminTestApp(t);
  const { api, scim } = app;
  const VENDOR = 'urn:ietf:params:scim:schemas:extension:Acme:2.0:User';

  t.test('store keeps them verbatim, returns them, refuses to filter on them, counts them', async (t) => {
    t.same(json(await api('GET', '/scim/settings')), { unknownAttributes: 'store' });
    const res = await scim('POST', '/Users', { schemas: [USER, VENDOR], userName: 'kim@example.com', nickname2: 'K', name: { givenName: 'Kim', suffix2: 'III' }, [VENDOR]: { badge: 'B-7', levels: [1, 2] } });
    t.equal(res.statusCode, 201, res.body);
    const user = json(res);
    t.match(user, { nickname2: 'K', name: { givenName: 'Kim', suffix2: 'III' }, [VENDOR]: { badge: 'B-7', levels: [1, 2] } });
    t.ok(user.schemas.includes(VENDOR), 'the undeclared extension is named in schemas');
    const patched = await scim('PATCH', `/Users/${user.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${VENDOR}:badge`, value: 'B-8' }] });
    t.match(json(patched)[VENDOR], { badge: 'B-8', levels: [1, 2] }, 'PATCHed by URN path');
    const projected = json(await scim('GET', `/Users/${user.id}?attributes=${encodeURIComponent(VENDOR)}`));
    t.same(Object.keys(projected).sort(), [VENDOR, 'id', 'schemas'].sort(), 'projected by its URN');
    const dotted = 'urn:example:v1.2:User';
    const nested = await scim('PATCH', `/Users/${user.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: `${dotted}:tier`, value: 'gold' }] });
    t.match(json(nested)[dotted], { tier: 'gold' }, 'a URN with dots in it');
    const filter = await scim('GET', `/Users?filter=${encodeURIComponent('nickname2 eq "K"')}`);
    t.match(json(filter), { status: '400', scimType: 'invalidFilter', detail: /not declared/ });
    const counted = json(await api('GET', '/scim/unknown-attributes'));
    t.match(counted, [
      { resourceType: 'User', name: 'name.suffix2', requests: 1 },
      { resourceType: 'User', name: 'nickname2', requests: 1 },
      { resourceType: 'User', name: 'urn:example:v1.2:User:tier', requests: 1 },
      { resourceType: 'User', name: `${VENDOR}:badge`, requests: 2 },
      { resourceType: 'User', name: `${VENDOR}:levels`, requests: 1 },
    ]);
  });

  t.test('reject refuses them with their names and writes nothing; stored ones stay writable', async (t) => {
    const changed = await api('PATCH', '/scim/settings', { body: { unknownAttributes: 'reject' } });
    t.same(json(changed), { unknownAttributes: 'reject' });
    const before = await app.db.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await scim('POST', '/Users', { schemas: [USER], userName: 'lee@example.com', nickname2: 'L', [VENDOR]: { badge: 'x' } });
    t.match(json(res), { status: '400', scimType: 'invalidValue', detail: /"nickname2".*Acme:2\.0:User:badge/ });
    const after = await app.db.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    t.equal(Number(after.n), Number(before.n), 'no user written');
    const kim = json(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "kim@example.com"')}`)).Resources[0];
    const patch = await scim('PATCH', `/Users/${kim.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Kim' }] });
    t.equal(patch.statusCode, 200, 'a user holding values stored under store can still be patched');
    const adding = await scim('PATCH', `/Users/${kim.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'nickname3', value: 'x' }] });
    t.match(json(adding), { status: '400' }, 'but a new undeclared attribute is refused');
    t.match(json(await api('GET', '/audit/events?type=workspace.settings_changed')).items[0], { data: { after: { scimUnknownAttributes: 'reject' } } });
  });
});
