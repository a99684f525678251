// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import { includesAttribute, parseAttributeList, projectResource, type ProjectionParams } from '../../src/scim/projection.js';
import { ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA } from '../../src/scim/schemas/index.js';

const meta = { resourceType: 'User', created: '2024-01-01T00:00:00Z', lastModified: '2024-01-02T00:00:00Z', location: 'https://x/Users/u1' };
const fullUser = {
  schemas: [USER_SCHEMA, ENT],
  id: 'u1',
  externalId: 'e1',
  userName: 'ada@contoso.com',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  active: true,
  emails: [
    { value: 'ada@contoso.com', type: 'work', primary: true },
    { value: 'ada@home', type: 'home' },
  ],
  groups: [{ value: 'g1', display: 'codex-admins' }],
  // Never stored, but projection must hide it even if a caller passed it in.
  password: 'hunter2',
  [ENT]: { employeeNumber: '42', manager: { value: 'm1' } },
  meta,
};

const fullGroup = {
  schemas: [GROUP_SCHEMA],
  id: 'g1',
  displayName: 'codex-admins',
  members: [{ value: 'u1', display: 'Ada' }],
  meta: { ...meta, resourceType: 'Group' },
};

const { password: _, ...defaultUser } = fullUser;

t.test('parseAttributeList', async (t) => {
  t.same(parseAttributeList(undefined), []);
  t.same(parseAttributeList(''), []);
  t.same(parseAttributeList(' userName , name.givenName,,emails '), ['userName', 'name.givenName', 'emails']);
});

t.test('projectResource', async (t) => {
  const cases: { name: string; params: ProjectionParams; expect: Record<string, unknown>; kind?: 'User' | 'Group'; from?: Record<string, unknown> }[] = [
    { name: 'default: everything but returned:never', params: {}, expect: defaultUser },
    {
      name: 'attributes: id and schemas always come along',
      params: { attributes: ['userName'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', userName: 'ada@contoso.com' },
    },
    {
      name: 'attribute names are case-insensitive; a raw comma-separated parameter is accepted',
      params: { attributes: 'USERNAME, Active' },
      expect: { schemas: [USER_SCHEMA], id: 'u1', userName: 'ada@contoso.com', active: true },
    },
    {
      name: 'sub-attributes of a complex attribute',
      params: { attributes: ['name.givenName'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', name: { givenName: 'Ada' } },
    },
    {
      name: 'sub-attributes of a multi-valued attribute',
      params: { attributes: ['emails.value'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', emails: [{ value: 'ada@contoso.com' }, { value: 'ada@home' }] },
    },
    {
      name: 'an extension attribute by URN keeps the extension object and its schema',
      params: { attributes: [`${ENT}:employeeNumber`] },
      expect: { schemas: [USER_SCHEMA, ENT], id: 'u1', [ENT]: { employeeNumber: '42' } },
    },
    {
      name: 'an extension sub-attribute by URN',
      params: { attributes: [`${ENT.toLowerCase()}:manager.value`] },
      expect: { schemas: [USER_SCHEMA, ENT], id: 'u1', [ENT]: { manager: { value: 'm1' } } },
    },
    {
      name: 'the whole extension by its URN',
      params: { attributes: [ENT] },
      expect: { schemas: [USER_SCHEMA, ENT], id: 'u1', [ENT]: fullUser[ENT] },
    },
    {
      name: 'core attribute by URN',
      params: { attributes: [`${USER_SCHEMA}:name.familyName`] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', name: { familyName: 'Lovelace' } },
    },
    {
      name: 'meta only when asked for',
      params: { attributes: ['meta.lastModified'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', meta: { lastModified: meta.lastModified } },
    },
    {
      name: 'password is never returned, even when asked for',
      params: { attributes: ['password', 'userName'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', userName: 'ada@contoso.com' },
    },
    {
      name: 'unknown names select nothing',
      params: { attributes: ['favouriteColour', 'userName'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', userName: 'ada@contoso.com' },
    },
    {
      name: 'attributes wins over excludedAttributes',
      params: { attributes: ['userName'], excludedAttributes: ['userName'] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', userName: 'ada@contoso.com' },
    },
    {
      name: 'excludedAttributes removes attributes',
      params: { excludedAttributes: ['emails', 'groups', 'meta', 'name', ENT] },
      expect: { schemas: [USER_SCHEMA], id: 'u1', externalId: 'e1', userName: 'ada@contoso.com', active: true },
    },
    {
      name: 'id and schemas cannot be excluded',
      params: { excludedAttributes: ['id', 'schemas'] },
      expect: defaultUser,
    },
    {
      name: 'excluding sub-attributes',
      params: { excludedAttributes: ['name.familyName', 'emails.primary', `${ENT}:manager`] },
      expect: {
        ...defaultUser,
        name: { givenName: 'Ada' },
        emails: [
          { value: 'ada@contoso.com', type: 'work' },
          { value: 'ada@home', type: 'home' },
        ],
        [ENT]: { employeeNumber: '42' },
      },
    },
    {
      name: 'excluding every extension attribute drops the extension and its schema',
      params: { excludedAttributes: [`${ENT}:employeeNumber`, `${ENT}:manager`] },
      expect: (() => {
        const { [ENT]: _ext, ...rest } = defaultUser;
        return { ...rest, schemas: [USER_SCHEMA] };
      })(),
    },
    {
      name: 'Entra: Groups with excludedAttributes=members',
      kind: 'Group',
      from: fullGroup,
      params: { excludedAttributes: 'members' },
      expect: { schemas: [GROUP_SCHEMA], id: 'g1', displayName: 'codex-admins', meta: fullGroup.meta },
    },
    {
      name: 'an empty member list is returned when asked for',
      kind: 'Group',
      from: { ...fullGroup, members: [] },
      params: { attributes: ['members'] },
      expect: { schemas: [GROUP_SCHEMA], id: 'g1', members: [] },
    },
  ];
  for (const { name, params, expect, kind, from } of cases) {
    t.same(projectResource(kind ?? 'User', from ?? fullUser, params), expect, name);
  }
  t.same(fullUser.password, 'hunter2', 'the input is not modified');
});

t.test('includesAttribute', async (t) => {
  const cases: [ProjectionParams, boolean][] = [
    [{}, true],
    [{ excludedAttributes: 'members' }, false],
    [{ excludedAttributes: 'MEMBERS' }, false],
    [{ excludedAttributes: 'members.display' }, true],
    [{ attributes: 'displayName' }, false],
    [{ attributes: 'members.value' }, true],
    [{ attributes: ['members'], excludedAttributes: ['members'] }, true],
  ];
  for (const [params, expected] of cases) t.equal(includesAttribute('Group', params, 'members'), expected, JSON.stringify(params));
  t.equal(includesAttribute('User', { attributes: 'userName' }, 'id'), true, 'returned:always');
  t.equal(includesAttribute('User', {}, 'password'), false, 'returned:never');
  t.equal(includesAttribute('User', { attributes: 'userName' }, 'groups'), false);
  t.equal(includesAttribute('User', { excludedAttributes: ENT }, ENT), false, 'extension by URN');
  t.equal(includesAttribute('User', {}, 'nonsense'), false);
});
