// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import type { ScimType } from '../../src/scim/errors.js';
import { normalizeGroup, normalizeUser, type WriteMode } from '../../src/scim/resource.js';
import { ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA } from '../../src/scim/schemas/index.js';
import { scimError } from './scim-error.js';

const CREATE: WriteMode = { kind: 'create' };
const user = (extra: Record<string, unknown> = {}) => ({ schemas: [USER_SCHEMA], userName: 'ada@example.com', ...extra });
const group = (extra: Record<string, unknown> = {}) => ({ schemas: [GROUP_SCHEMA], displayName: 'codex-admins', ...extra });

t.test('Okta user POST: password and groups are dropped, active kept', async (t) => {
  const resource = normalizeUser(
    {
      schemas: [USER_SCHEMA],
      userName: 'ada@example.com',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ primary: true, value: 'ada@example.com', type: 'work' }],
      displayName: 'Ada Lovelace',
      locale: 'en-US',
      externalId: '00u1',
      groups: [],
      password: 'hunter2',
      active: true,
    },
    CREATE,
  );
  t.same(resource, {
    userName: 'ada@example.com',
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ primary: true, value: 'ada@example.com', type: 'work' }],
    displayName: 'Ada Lovelace',
    locale: 'en-US',
    externalId: '00u1',
    active: true,
  });
  t.notOk('password' in resource);
  t.notOk('groups' in resource);
});

t.test('Entra user POST: enterprise extension, string booleans, roles: []', async (t) => {
  const resource = normalizeUser(
    {
      schemas: [USER_SCHEMA, ENT],
      externalId: 'a1b2',
      userName: 'Ada@contoso.com',
      active: 'True',
      emails: [{ primary: 'true', type: 'work', value: 'ada@contoso.com' }],
      name: { formatted: 'Ada L', familyName: 'L', givenName: 'Ada' },
      roles: [],
      [ENT]: { employeeNumber: '42', department: 'R&D', manager: [{ value: 'mgr-1' }] },
    },
    CREATE,
  );
  t.same(resource, {
    externalId: 'a1b2',
    userName: 'Ada@contoso.com',
    active: true,
    emails: [{ primary: true, type: 'work', value: 'ada@contoso.com' }],
    name: { formatted: 'Ada L', familyName: 'L', givenName: 'Ada' },
    [ENT]: { employeeNumber: '42', department: 'R&D', manager: { value: 'mgr-1' } },
  });
});

t.test('attribute names are canonicalised, URNs matched ignoring case', async (t) => {
  const resource = normalizeUser(
    {
      SCHEMAS: [USER_SCHEMA.toUpperCase()],
      USERNAME: 'ada',
      Name: { GivenName: 'Ada' },
      [ENT.toLowerCase()]: { EmployeeNumber: '7' },
    },
    CREATE,
  );
  t.same(resource, { userName: 'ada', name: { givenName: 'Ada' }, [ENT]: { employeeNumber: '7' }, active: true });
});

t.test('manager forms all normalise to {value}', async (t) => {
  for (const manager of [{ value: 'm1' }, 'm1', [{ value: 'm1' }]]) {
    const resource = normalizeUser(user({ [ENT]: { manager } }), CREATE);
    t.same(resource[ENT], { manager: { value: 'm1' } }, JSON.stringify(manager));
  }
  for (const manager of ['', { value: '' }, [], null]) {
    const resource = normalizeUser(user({ [ENT]: { manager } }), CREATE);
    t.notOk(ENT in resource, `${JSON.stringify(manager)} clears the manager`);
  }
  t.throws(() => normalizeUser(user({ [ENT]: { manager: [{ value: 'a' }, { value: 'b' }] } }), CREATE), scimError('invalidValue', /manager/), 'two managers');
  t.throws(() => normalizeUser(user({ [ENT]: { manager: 5 } }), CREATE), scimError('invalidValue', /manager/), 'numeric manager');
});

t.test('the extension object is accepted without its URN in schemas; readOnly sub-attributes are ignored', async (t) => {
  const resource = normalizeUser(user({ [ENT]: { manager: { value: 'm', displayName: 'Boss' } } }), CREATE);
  t.same(resource[ENT], { manager: { value: 'm' } });
});

t.test('unassigned values (null, [], {}) are not stored', async (t) => {
  const resource = normalizeUser(user({ displayName: null, emails: [], name: {}, phoneNumbers: [{}] }), CREATE);
  t.same(resource, { userName: 'ada@example.com', active: true });
});

t.test('active: defaults to true on create; a PUT that omits it keeps the stored status', async (t) => {
  t.equal(normalizeUser(user(), CREATE)['active'], true);
  t.equal(normalizeUser(user({ active: 'false' }), CREATE)['active'], false);
  const current = { userName: 'ada@example.com', active: false };
  t.equal(normalizeUser(user(), { kind: 'replace', id: 'u1', current })['active'], false);
  t.equal(normalizeUser(user({ active: true }), { kind: 'replace', id: 'u1', current })['active'], true);
});

t.test('PUT: id and meta echoed by Okta are ignored, a different id is refused', async (t) => {
  const mode: WriteMode = { kind: 'replace', id: 'u1', current: {} };
  const resource = normalizeUser(user({ id: 'u1', meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z' } }), mode);
  t.same(resource, { userName: 'ada@example.com', active: true });
  t.throws(() => normalizeUser(user({ id: 'u2' }), mode), scimError('mutability', /id/), 'other id');
  t.same(normalizeUser(user({ id: 'whatever' }), CREATE), { userName: 'ada@example.com', active: true }, 'id ignored on create');
});

t.test('body and schemas errors', async (t) => {
  const cases: [string, unknown, ScimType, RegExp][] = [
    ['not an object', [], 'invalidSyntax', /JSON object/],
    ['null body', null, 'invalidSyntax', /JSON object/],
    ['no schemas', { userName: 'a' }, 'invalidSyntax', /schemas/],
    ['schemas not strings', { schemas: [1], userName: 'a' }, 'invalidSyntax', /schemas/],
    ['group schema on a user', { schemas: [GROUP_SCHEMA], userName: 'a' }, 'invalidSyntax', /must include .*core:2.0:User/],
    ['core schema missing', { schemas: [ENT], userName: 'a' }, 'invalidSyntax', /core:2.0:User/],
  ];
  for (const [name, body, scimType, detail] of cases) t.throws(() => normalizeUser(body, CREATE), scimError(scimType, detail), name);
});

t.test('schema URNs that carry no attributes are accepted and not stored', async (t) => {
  const vendor = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
  t.same(normalizeGroup({ schemas: [GROUP_SCHEMA, vendor], displayName: 'codex-admins' }).resource, { displayName: 'codex-admins' }, "Entra's group push");
  t.same(normalizeUser({ schemas: [USER_SCHEMA, 'urn:example:custom'], userName: 'a' }, CREATE), { userName: 'a', active: true });
  t.same(normalizeGroup({ schemas: [GROUP_SCHEMA, ENT], displayName: 'x' }).resource, { displayName: 'x' }, 'an extension of another type, with no values');
});

t.test('attribute errors name the attribute', async (t) => {
  const cases: [string, Record<string, unknown>, ScimType, RegExp][] = [
    ['unknown attributes', { foo: 1, bar: 2 }, 'invalidValue', /"foo", "bar"/],
    ['unknown sub-attribute', { name: { nickname: 'x' } }, 'invalidValue', /name\.nickname/],
    ['unknown extension attribute', { [ENT]: { badge: 'x' } }, 'invalidValue', /badge/],
    ['undeclared extension values', { 'urn:example:custom:2.0:User': { badge: 'x' } }, 'invalidValue', /urn:example:custom:2\.0:User:badge/],
    ['string expected', { displayName: 5 }, 'invalidValue', /"displayName" must be a string/],
    ['boolean expected', { active: 'yes' }, 'invalidValue', /"active" must be a boolean/],
    ['sub-attribute type', { emails: [{ value: 'a', primary: 'maybe' }] }, 'invalidValue', /emails\.primary/],
    ['array expected', { emails: { value: 'a' } }, 'invalidValue', /"emails" is multi-valued/],
    ['object expected', { name: 'Ada' }, 'invalidValue', /"name" must be an object/],
    ['extension must be an object', { [ENT]: 'x' }, 'invalidValue', /extension/],
    ['extension attribute type', { [ENT]: { employeeNumber: 42 } }, 'invalidValue', /employeeNumber" must be a string/],
    ['two primaries', { emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }, 'invalidValue', /primary/],
    ['same attribute twice', { displayName: 'a', DisplayName: 'b' }, 'invalidSyntax', /more than once/],
    ['externalId type', { externalId: 1 }, 'invalidValue', /externalId/],
  ];
  for (const [name, extra, scimType, detail] of cases) t.throws(() => normalizeUser(user(extra), CREATE), scimError(scimType, detail), name);
});

t.test('required userName', async (t) => {
  for (const userName of [undefined, '', null]) {
    t.throws(() => normalizeUser({ schemas: [USER_SCHEMA], userName }, CREATE), scimError('invalidValue', /userName.*required/), String(userName));
  }
});

t.test('groups: members become ids, deduplicated; display and $ref are not stored', async (t) => {
  const result = normalizeGroup(
    group({
      externalId: 'okta-g1',
      members: [
        { value: 'u1', display: 'Ada', $ref: 'https://x/Users/u1' },
        { value: 'u2', type: 'User' },
        { value: 'u1' },
      ],
    }),
  );
  t.same(result, { resource: { displayName: 'codex-admins', externalId: 'okta-g1' }, memberIds: ['u1', 'u2'] });
  t.same(normalizeGroup(group()), { resource: { displayName: 'codex-admins' }, memberIds: [] }, 'Entra POSTs without members');
  t.same(normalizeGroup(group({ members: [] })).memberIds, []);
  t.same(normalizeGroup(group({ id: 'g1', meta: {} }), { kind: 'replace', id: 'g1', current: {} }).resource, { displayName: 'codex-admins' });
});

t.test('group errors', async (t) => {
  const cases: [string, unknown, ScimType, RegExp][] = [
    ['displayName missing', { schemas: [GROUP_SCHEMA] }, 'invalidValue', /displayName.*required/],
    ['displayName empty', group({ displayName: '' }), 'invalidValue', /displayName.*required/],
    ['user schema', { schemas: [USER_SCHEMA], displayName: 'x' }, 'invalidSyntax', /must include .*core:2.0:Group/],
    ['enterprise values on a group', { schemas: [GROUP_SCHEMA, ENT], displayName: 'x', [ENT]: { department: 'x' } }, 'invalidValue', /enterprise/],
    ['members not an array', group({ members: { value: 'u1' } }), 'invalidValue', /members/],
    ['member value not a string', group({ members: [{ value: 1 }] }), 'invalidValue', /members\.value/],
    ['member without value', group({ members: [{ display: 'x' }] }), 'invalidValue', /non-empty string "value"/],
    ['nested group', group({ members: [{ value: 'g2', type: 'Group' }] }), 'invalidValue', /must be Users/],
    ['unknown attribute', group({ owner: 'x' }), 'invalidValue', /owner/],
  ];
  for (const [name, body, scimType, detail] of cases) t.throws(() => normalizeGroup(body), scimError(scimType, detail), name);
  t.throws(() => normalizeGroup(group({ id: 'g2' }), { kind: 'replace', id: 'g1', current: {} }), scimError('mutability', /id/), 'other id');
});
