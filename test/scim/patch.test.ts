// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import type { ScimType } from '../../src/scim/errors.js';
import { applyUserPatch, planGroupPatch } from '../../src/scim/patch.js';
import type { StoredResource } from '../../src/scim/resource.js';
import { ENTERPRISE_USER_SCHEMA as ENT, PATCH_OP_SCHEMA } from '../../src/scim/schemas/index.js';
import { scimError } from './scim-error.js';

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations });
const USER_ID = 'u-1';
const GROUP_ID = 'g-1';

/** Deep-freezes the stored resource so any in-place mutation by the engine throws. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(frozen);
    Object.freeze(value);
  }
  return value;
}

const ada = (): StoredResource =>
  frozen({
    userName: 'ada@contoso.com',
    active: true,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: 'ada@contoso.com', type: 'work', primary: true }],
  });

const userPatch = (resource: StoredResource, ...ops: unknown[]) => applyUserPatch(resource, patch(...ops), { id: USER_ID }).resource;

t.test('User PATCH: table of accepted forms', async (t) => {
  const cases: { name: string; ops: unknown[]; expect: (before: StoredResource) => StoredResource; from?: StoredResource }[] = [
    {
      name: 'Entra deactivate with "False"',
      ops: [{ op: 'Replace', path: 'active', value: 'False' }],
      expect: (b) => ({ ...b, active: false }),
    },
    {
      name: 'Entra deactivate with "false"',
      ops: [{ op: 'Replace', path: 'active', value: 'false' }],
      expect: (b) => ({ ...b, active: false }),
    },
    {
      name: 'Entra aadOptscim062020 deactivate with a boolean',
      ops: [{ op: 'replace', path: 'active', value: false }],
      expect: (b) => ({ ...b, active: false }),
    },
    {
      name: 'reactivate with "True"',
      from: { userName: 'x', active: false },
      ops: [{ op: 'REPLACE', path: 'ACTIVE', value: 'True' }],
      expect: () => ({ userName: 'x', active: true }),
    },
    {
      name: 'Okta path-less deactivate',
      ops: [{ op: 'replace', value: { active: false } }],
      expect: (b) => ({ ...b, active: false }),
    },
    {
      name: 'Entra aadOptscim062020 path-less replace with dotted and URN keys',
      ops: [
        {
          op: 'replace',
          value: { 'name.givenName': 'Augusta', [`${ENT}:employeeNumber`]: '1815', active: false, displayName: 'Augusta Ada' },
        },
      ],
      expect: (b) => ({
        ...b,
        active: false,
        displayName: 'Augusta Ada',
        name: { givenName: 'Augusta', familyName: 'Lovelace' },
        [ENT]: { employeeNumber: '1815' },
      }),
    },
    {
      name: 'path-less add with an extension object merges its attributes',
      from: { userName: 'x', active: true, [ENT]: { department: 'R&D' } },
      ops: [{ op: 'add', value: { [ENT]: { employeeNumber: '7' } } }],
      expect: () => ({ userName: 'x', active: true, [ENT]: { department: 'R&D', employeeNumber: '7' } }),
    },
    {
      name: 'Entra value path on an absent emails array creates the email',
      from: { userName: 'x', active: true },
      ops: [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'x@contoso.com' }],
      expect: () => ({ userName: 'x', active: true, emails: [{ type: 'work', value: 'x@contoso.com' }] }),
    },
    {
      name: 'value path replace updates the matching email only',
      from: { userName: 'x', active: true, emails: [{ type: 'work', value: 'old@x' }, { type: 'home', value: 'h@x' }] },
      ops: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@x' }],
      expect: () => ({ userName: 'x', active: true, emails: [{ type: 'work', value: 'new@x' }, { type: 'home', value: 'h@x' }] }),
    },
    {
      name: 'value path filters ignore case like GET filters (type is not caseExact)',
      ops: [{ op: 'replace', path: 'emails[Type eq "WORK"].value', value: 'lovelace@contoso.com' }],
      expect: (b) => ({ ...b, emails: [{ value: 'lovelace@contoso.com', type: 'work', primary: true }] }),
    },
    {
      name: 'value path with an `and` filter creates an element with both terms',
      from: { userName: 'x', active: true },
      ops: [{ op: 'add', path: 'phoneNumbers[type eq "mobile" and primary eq true].value', value: '+1 555' }],
      expect: () => ({ userName: 'x', active: true, phoneNumbers: [{ type: 'mobile', primary: true, value: '+1 555' }] }),
    },
    {
      name: 'replace of a filtered value keeps what the filter selected on',
      from: { userName: 'x', active: true, addresses: [{ type: 'work', locality: 'Paris', region: 'IDF' }] },
      ops: [{ op: 'replace', path: 'addresses[type eq "work"]', value: { locality: 'Lyon' } }],
      expect: () => ({ userName: 'x', active: true, addresses: [{ type: 'work', locality: 'Lyon' }] }),
    },
    {
      name: 'add of a filtered value merges into it',
      from: { userName: 'x', active: true, addresses: [{ type: 'work', locality: 'Paris' }] },
      ops: [{ op: 'add', path: 'addresses[type eq "work"]', value: { postalCode: '75001' } }],
      expect: () => ({ userName: 'x', active: true, addresses: [{ type: 'work', locality: 'Paris', postalCode: '75001' }] }),
    },
    {
      name: 'remove of a value path removes the matching elements',
      from: { userName: 'x', active: true, emails: [{ type: 'work', value: 'w@x' }, { type: 'home', value: 'h@x' }] },
      ops: [{ op: 'Remove', path: 'emails[type eq "work"]' }],
      expect: () => ({ userName: 'x', active: true, emails: [{ type: 'home', value: 'h@x' }] }),
    },
    {
      name: 'remove of the last matching element drops the attribute',
      ops: [{ op: 'remove', path: 'emails[type eq "work"]' }],
      expect: ({ emails: _, ...rest }) => rest,
    },
    {
      name: 'remove of a value path that matches nothing is a no-op',
      ops: [{ op: 'remove', path: 'emails[type eq "home"]' }],
      expect: (b) => b,
    },
    {
      name: 'remove of a sub-attribute of filtered values',
      from: { userName: 'x', active: true, phoneNumbers: [{ type: 'work', value: '1', display: '+1' }] },
      ops: [{ op: 'remove', path: 'phoneNumbers[type eq "work"].display' }],
      expect: () => ({ userName: 'x', active: true, phoneNumbers: [{ type: 'work', value: '1' }] }),
    },
    {
      name: 'remove with a value list removes those values (Entra style)',
      from: { userName: 'x', active: true, emails: [{ type: 'work', value: 'w@x' }, { type: 'home', value: 'h@x' }] },
      ops: [{ op: 'Remove', path: 'emails', value: [{ value: 'W@X' }] }],
      expect: () => ({ userName: 'x', active: true, emails: [{ type: 'home', value: 'h@x' }] }),
    },
    {
      name: 'add to a multi-valued attribute appends and skips identical values',
      ops: [
        {
          op: 'add',
          path: 'emails',
          value: [{ value: 'ada@contoso.com', type: 'work', primary: true }, { value: 'a@home', type: 'home' }, { value: 'a@home', type: 'home' }],
        },
      ],
      expect: (b) => ({ ...b, emails: [{ value: 'ada@contoso.com', type: 'work', primary: true }, { value: 'a@home', type: 'home' }] }),
    },
    {
      name: 'add of a new primary value demotes the old one (RFC 7644 §3.5.2)',
      ops: [{ op: 'add', path: 'emails', value: { value: 'a@home', type: 'home', primary: 'True' } }],
      expect: (b) => ({
        ...b,
        emails: [
          { value: 'ada@contoso.com', type: 'work', primary: false },
          { value: 'a@home', type: 'home', primary: true },
        ],
      }),
    },
    {
      name: 'replace of a multi-valued attribute replaces the whole array',
      ops: [{ op: 'replace', path: 'emails', value: [{ value: 'only@x', type: 'other' }] }],
      expect: (b) => ({ ...b, emails: [{ value: 'only@x', type: 'other' }] }),
    },
    {
      name: 'sub-attribute replace and add',
      ops: [
        { op: 'replace', path: 'name.givenName', value: 'Augusta' },
        { op: 'add', path: 'name.middleName', value: 'King' },
      ],
      expect: (b) => ({ ...b, name: { givenName: 'Augusta', familyName: 'Lovelace', middleName: 'King' } }),
    },
    {
      name: 'sub-attribute add creates the parent',
      from: { userName: 'x', active: true },
      ops: [{ op: 'add', path: 'name.familyName', value: 'X' }],
      expect: () => ({ userName: 'x', active: true, name: { familyName: 'X' } }),
    },
    {
      name: 'removing the last sub-attribute removes the parent',
      from: { userName: 'x', active: true, name: { givenName: 'X' } },
      ops: [{ op: 'remove', path: 'name.givenName' }],
      expect: () => ({ userName: 'x', active: true }),
    },
    {
      name: 'replace of a complex attribute merges sub-attributes (RFC 7644 §3.5.2.3)',
      ops: [{ op: 'replace', path: 'name', value: { givenName: 'Augusta' } }],
      expect: (b) => ({ ...b, name: { givenName: 'Augusta', familyName: 'Lovelace' } }),
    },
    {
      name: 'enterprise attribute by full URN path',
      ops: [{ op: 'Add', path: `${ENT}:employeeNumber`, value: '42' }],
      expect: (b) => ({ ...b, [ENT]: { employeeNumber: '42' } }),
    },
    {
      name: 'Entra manager as [{"value":"id"}]',
      ops: [{ op: 'Add', path: `${ENT}:manager`, value: [{ value: 'mgr-1' }] }],
      expect: (b) => ({ ...b, [ENT]: { manager: { value: 'mgr-1' } } }),
    },
    {
      name: 'manager as a bare id',
      ops: [{ op: 'replace', path: `${ENT}:manager`, value: 'mgr-2' }],
      expect: (b) => ({ ...b, [ENT]: { manager: { value: 'mgr-2' } } }),
    },
    {
      name: 'manager as {"value":"id"} replaces the previous manager',
      from: { userName: 'x', active: true, [ENT]: { manager: { value: 'mgr-1' }, department: 'R&D' } },
      ops: [{ op: 'replace', path: `${ENT.toLowerCase()}:Manager`, value: { value: 'mgr-2' } }],
      expect: () => ({ userName: 'x', active: true, [ENT]: { manager: { value: 'mgr-2' }, department: 'R&D' } }),
    },
    {
      name: 'removing the last extension attribute removes the extension object',
      from: { userName: 'x', active: true, [ENT]: { manager: { value: 'mgr-1' } } },
      ops: [{ op: 'Remove', path: `${ENT}:manager` }],
      expect: () => ({ userName: 'x', active: true }),
    },
    {
      name: 'remove of the whole extension',
      from: { userName: 'x', active: true, [ENT]: { department: 'R&D', employeeNumber: '1' } },
      ops: [{ op: 'remove', path: ENT }],
      expect: () => ({ userName: 'x', active: true }),
    },
    {
      name: 'core attributes by URN path',
      ops: [{ op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:displayName', value: 'Ada' }],
      expect: (b) => ({ ...b, displayName: 'Ada' }),
    },
    {
      name: 'replace with null unassigns (RFC 7643 §2.5)',
      ops: [{ op: 'replace', path: 'name', value: null }],
      expect: ({ name: _, ...rest }) => rest,
    },
    {
      name: 'externalId replace and remove',
      ops: [{ op: 'replace', path: 'externalId', value: 'e1' }, { op: 'remove', path: 'externalId' }, { op: 'add', path: 'externalId', value: 'e2' }],
      expect: (b) => ({ ...b, externalId: 'e2' }),
    },
    {
      name: 'password is accepted and discarded',
      ops: [{ op: 'replace', path: 'password', value: 'hunter2' }, { op: 'replace', value: { password: 'x' } }],
      expect: (b) => b,
    },
    {
      name: 'a path-less value may repeat the resource id',
      ops: [{ op: 'replace', value: { id: USER_ID, displayName: 'Ada' } }],
      expect: (b) => ({ ...b, displayName: 'Ada' }),
    },
    {
      name: 'remove of active keeps the stored status (like a PUT that omits it)',
      from: { userName: 'x', active: false },
      ops: [{ op: 'remove', path: 'active' }],
      expect: () => ({ userName: 'x', active: false }),
    },
    {
      name: 'an empty "path" is a path-less operation',
      ops: [{ op: 'replace', path: '', value: { title: 'Countess' } }],
      expect: (b) => ({ ...b, title: 'Countess' }),
    },
    {
      name: 'operations apply in order',
      ops: [
        { op: 'replace', path: 'title', value: 'a' },
        { op: 'remove', path: 'title' },
        { op: 'add', path: 'title', value: 'b' },
      ],
      expect: (b) => ({ ...b, title: 'b' }),
    },
  ];
  for (const { name, ops, expect, from } of cases) {
    const before = frozen(from ?? ada());
    t.same(userPatch(before, ...ops), expect(before), name);
  }
});

t.test('User PATCH: the result is canonical', async (t) => {
  const result = userPatch(ada(), { op: 'add', value: { NICKNAME: 'Ada', Emails: [{ Value: 'x@y', Primary: 'false' }] } });
  t.same(result['emails'], [
    { value: 'ada@contoso.com', type: 'work', primary: true },
    { value: 'x@y', primary: false },
  ]);
  t.equal(result['nickName'], 'Ada');
});

t.test('User PATCH: errors carry the RFC 7644 §3.12 scimType', async (t) => {
  const cases: [string, unknown, ScimType, RegExp][] = [
    ['body not an object', 'x', 'invalidSyntax', /PatchOp/],
    ['schemas missing', { Operations: [{ op: 'add', value: {} }] }, 'invalidSyntax', /PatchOp/],
    ['wrong schema', { schemas: ['urn:x'], Operations: [{ op: 'add', value: {} }] }, 'invalidSyntax', /PatchOp/],
    ['Operations missing', { schemas: [PATCH_OP_SCHEMA] }, 'invalidSyntax', /Operations/],
    ['Operations empty', patch(), 'invalidSyntax', /non-empty/],
    ['Operations not an array', { schemas: [PATCH_OP_SCHEMA], Operations: {} }, 'invalidSyntax', /Operations/],
    ['operation not an object', patch('add'), 'invalidSyntax', /Operations\[0\]/],
    ['unknown op', patch({ op: 'merge', path: 'title', value: 'x' }), 'invalidSyntax', /"merge"/],
    ['op missing', patch({ path: 'title', value: 'x' }), 'invalidSyntax', /op/],
    ['add without value', patch({ op: 'add', path: 'title' }), 'invalidSyntax', /needs a "value"/],
    ['path not a string', patch({ op: 'add', path: 1, value: 'x' }), 'invalidSyntax', /path/],
    ['remove without path', patch({ op: 'remove' }), 'noTarget', /needs a "path"/],
    ['remove userName', patch({ op: 'remove', path: 'userName' }), 'invalidValue', /userName.*required/],
    ['replace userName with null', patch({ op: 'replace', path: 'userName', value: null }), 'invalidValue', /userName.*required/],
    ['unknown attribute', patch({ op: 'replace', path: 'favouriteColour', value: 'x' }), 'invalidPath', /favouriteColour/],
    ['unknown sub-attribute', patch({ op: 'replace', path: 'name.nick', value: 'x' }), 'invalidPath', /nick/],
    ['unknown URN', patch({ op: 'replace', path: 'urn:example:custom:User:x', value: 'x' }), 'invalidPath', /urn:example/],
    ['unknown path-less key', patch({ op: 'replace', value: { favouriteColour: 'x' } }), 'invalidPath', /favouriteColour/],
    ['filter on a single-valued attribute', patch({ op: 'replace', path: 'name[givenName eq "x"].familyName', value: 'y' }), 'invalidPath', /single-valued/],
    ['filter that does not parse', patch({ op: 'replace', path: 'emails[type eq ].value', value: 'x' }), 'invalidFilter', /filter/],
    ['filter on an unknown sub-attribute', patch({ op: 'remove', path: 'emails[kind eq "work"]' }), 'invalidFilter', /kind/],
    ['replace id', patch({ op: 'replace', path: 'id', value: 'other' }), 'mutability', /id/],
    ['path-less id that differs', patch({ op: 'replace', value: { id: 'other' } }), 'mutability', /id/],
    ['remove id', patch({ op: 'remove', path: 'id' }), 'mutability', /id/],
    ['replace meta', patch({ op: 'replace', path: 'meta.lastModified', value: '2024-01-01T00:00:00Z' }), 'mutability', /meta/],
    ['remove groups', patch({ op: 'remove', path: 'groups' }), 'mutability', /groups/],
    ['add groups', patch({ op: 'add', path: 'groups', value: [{ value: 'g' }] }), 'mutability', /groups/],
    ['readOnly sub-attribute', patch({ op: 'replace', path: `${ENT}:manager.displayName`, value: 'Boss' }), 'mutability', /displayName/],
    ['boolean type', patch({ op: 'replace', path: 'active', value: 'yes' }), 'invalidValue', /active/],
    ['string type', patch({ op: 'replace', path: 'name.givenName', value: 5 }), 'invalidValue', /name\.givenName/],
    ['filtered value type', patch({ op: 'add', path: 'emails[type eq "work"]', value: 'x' }), 'invalidValue', /emails/],
    ['path-less value not an object', patch({ op: 'replace', value: false }), 'invalidValue', /object/],
    ['extension value not an object', patch({ op: 'add', path: ENT, value: 'x' }), 'invalidValue', /extension/],
    ['two managers', patch({ op: 'add', path: `${ENT}:manager`, value: [{ value: 'a' }, { value: 'b' }] }), 'invalidValue', /manager/],
    ['two primaries added at once', patch({ op: 'add', path: 'emails', value: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }), 'invalidValue', /primary/],
    ['no match and a filter that cannot describe a value', patch({ op: 'add', path: 'emails[value co "@x"].type', value: 'work' }), 'noTarget', /emails/],
  ];
  for (const [name, body, scimType, detail] of cases) {
    t.throws(() => applyUserPatch(ada(), body, { id: USER_ID }), scimError(scimType, detail), name);
  }
});

t.test('User PATCH: nothing is partially applied', async (t) => {
  const before = ada();
  const snapshot = structuredClone(before);
  t.throws(
    () =>
      applyUserPatch(
        before,
        patch(
          { op: 'replace', path: 'active', value: false },
          { op: 'add', path: 'emails[type eq "home"].value', value: 'h@x' },
          { op: 'replace', path: 'id', value: 'other' },
        ),
        { id: USER_ID },
      ),
    scimError('mutability'),
  );
  t.same(before, snapshot, 'the stored resource is untouched (it is also deep-frozen)');
  // A valid patch on a frozen resource works: the engine never writes to its input.
  t.equal(userPatch(before, { op: 'replace', path: 'active', value: false })['active'], false);
});

// ---------------------------------------------------------------------------------------------
// Groups.

const group = (): StoredResource => frozen({ displayName: 'codex-admins', externalId: 'okta-g1' });
const groupPatch = (...ops: unknown[]) => planGroupPatch(group(), patch(...ops), { id: GROUP_ID });

t.test('Group PATCH: membership forms become ordered member operations', async (t) => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
  const cases: { name: string; ops: unknown[]; memberOps: unknown[]; resource?: StoredResource }[] = [
    {
      name: 'Okta/Entra add of a chunk of 1000 members',
      ops: [{ op: 'Add', path: 'members', value: ids(1000).map((value) => ({ value })) }],
      memberOps: [{ op: 'add', userIds: ids(1000) }],
    },
    {
      name: 'add deduplicates and accepts display/$ref/type',
      ops: [{ op: 'add', path: 'members', value: [{ value: 'u1', display: 'Ada', type: 'User', $ref: 'https://x/Users/u1' }, { value: 'u1' }] }],
      memberOps: [{ op: 'add', userIds: ['u1'] }],
    },
    {
      name: 'Okta remove by filter',
      ops: [{ op: 'remove', path: 'members[value eq "u1"]' }],
      memberOps: [{ op: 'remove', userIds: ['u1'] }],
    },
    {
      name: 'remove by an `or` filter',
      ops: [{ op: 'remove', path: 'members[value eq "u1" or value eq "u2" or (value eq "u3")]' }],
      memberOps: [{ op: 'remove', userIds: ['u1', 'u2', 'u3'] }],
    },
    {
      name: 'Entra Remove with a value list removes exactly those members',
      ops: [{ op: 'Remove', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }],
      memberOps: [{ op: 'remove', userIds: ['u1', 'u2'] }],
    },
    {
      name: 'Remove with an empty value list removes nothing (never everyone)',
      ops: [{ op: 'Remove', path: 'members', value: [] }],
      memberOps: [],
    },
    {
      name: 'remove without a value removes all members',
      ops: [{ op: 'remove', path: 'members' }],
      memberOps: [{ op: 'removeAll' }],
    },
    {
      name: 'replace of members',
      ops: [{ op: 'replace', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }],
      memberOps: [{ op: 'replace', userIds: ['u1', 'u2'] }],
    },
    {
      name: 'replace with an empty list',
      ops: [{ op: 'replace', path: 'members', value: [] }],
      memberOps: [{ op: 'replace', userIds: [] }],
    },
    {
      name: 'Okta rename with the group id, then membership chunks',
      ops: [
        { op: 'replace', value: { id: GROUP_ID, displayName: 'codex-admins-2' } },
        { op: 'remove', path: 'members[value eq "u9"]' },
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      ],
      resource: { displayName: 'codex-admins-2', externalId: 'okta-g1' },
      memberOps: [
        { op: 'remove', userIds: ['u9'] },
        { op: 'add', userIds: ['u1'] },
      ],
    },
    {
      name: 'path-less add and replace with a members key',
      ops: [
        { op: 'add', value: { members: [{ value: 'u1' }] } },
        { op: 'replace', value: { displayName: 'renamed', members: [{ value: 'u2' }] } },
      ],
      resource: { displayName: 'renamed', externalId: 'okta-g1' },
      memberOps: [
        { op: 'add', userIds: ['u1'] },
        { op: 'replace', userIds: ['u2'] },
      ],
    },
    {
      name: 'a lone member object is a list of one',
      ops: [{ op: 'add', path: 'members', value: { value: 'u1' } }],
      memberOps: [{ op: 'add', userIds: ['u1'] }],
    },
    {
      name: 'displayName and externalId',
      ops: [
        { op: 'Replace', path: 'displayName', value: 'new' },
        { op: 'Remove', path: 'externalId' },
      ],
      resource: { displayName: 'new' },
      memberOps: [],
    },
    {
      name: 'ops interleave in request order',
      ops: [
        { op: 'remove', path: 'members' },
        { op: 'replace', path: 'displayName', value: 'x' },
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
        { op: 'remove', path: 'members', value: [{ value: 'u1' }] },
      ],
      resource: { displayName: 'x', externalId: 'okta-g1' },
      memberOps: [{ op: 'removeAll' }, { op: 'add', userIds: ['u1'] }, { op: 'remove', userIds: ['u1'] }],
    },
  ];
  for (const { name, ops, memberOps, resource } of cases) {
    t.same(groupPatch(...ops), { resource: resource ?? group(), memberOps }, name);
  }
});

t.test('Group PATCH: errors', async (t) => {
  const cases: [string, unknown[], ScimType, RegExp][] = [
    ['member filter on display', [{ op: 'remove', path: 'members[display eq "Ada"]' }], 'invalidFilter', /value eq/],
    ['member filter with ne', [{ op: 'remove', path: 'members[value ne "u1"]' }], 'invalidFilter', /value eq/],
    ['member filter with and', [{ op: 'remove', path: 'members[value eq "u1" and value eq "u2"]' }], 'invalidFilter', /value eq/],
    ['member filter with co', [{ op: 'remove', path: 'members[value co "u"]' }], 'invalidFilter', /value eq/],
    ['member filter that does not parse', [{ op: 'remove', path: 'members[value eq]' }], 'invalidFilter', /filter/],
    ['add with a member filter', [{ op: 'add', path: 'members[value eq "u1"]', value: [{ value: 'u1' }] }], 'invalidPath', /members/],
    ['member sub-attribute path', [{ op: 'replace', path: 'members[value eq "u1"].value', value: 'u2' }], 'invalidPath', /sub-attributes/],
    ['nested group', [{ op: 'add', path: 'members', value: [{ value: 'g2', type: 'Group' }] }], 'invalidValue', /must be Users/],
    ['member without value', [{ op: 'add', path: 'members', value: [{ display: 'x' }] }], 'invalidValue', /value/],
    ['rename with another id', [{ op: 'replace', value: { id: 'g-2', displayName: 'x' } }], 'mutability', /id/],
    ['remove displayName', [{ op: 'remove', path: 'displayName' }], 'invalidValue', /displayName.*required/],
    ['user attribute on a group', [{ op: 'replace', path: 'userName', value: 'x' }], 'invalidPath', /userName/],
    ['enterprise extension on a group', [{ op: 'replace', path: `${ENT}:department`, value: 'x' }], 'invalidPath', /enterprise/],
    ['remove without path', [{ op: 'remove' }], 'noTarget', /path/],
  ];
  for (const [name, ops, scimType, detail] of cases) t.throws(() => groupPatch(...ops), scimError(scimType, detail), name);
});

t.test('Group PATCH: a bad operation anywhere plans nothing', async (t) => {
  const before = group();
  t.throws(
    () =>
      planGroupPatch(
        before,
        patch(
          { op: 'replace', path: 'displayName', value: 'renamed' },
          { op: 'add', path: 'members', value: [{ value: 'u1' }] },
          { op: 'remove', path: 'members[display eq "x"]' },
        ),
        { id: GROUP_ID },
      ),
    scimError('invalidFilter'),
  );
  t.same(before, { displayName: 'codex-admins', externalId: 'okta-g1' });
});
