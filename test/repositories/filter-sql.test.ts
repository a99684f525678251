import { randomUUID } from 'node:crypto';
import t from 'tap';
import { compileFilter, compileSort, likePattern } from '../../src/repositories/filter-sql.js';
import { parseFilter, type FilterNode } from '../../src/scim/filter.js';
import { attr, ENTERPRISE_USER_SCHEMA as ENT, type ResourceKind } from '../../src/scim/schemas/index.js';
import { createTestDb } from '../helpers/db.js';
import { sqlCompiler } from '../helpers/sql-compiler.js';
import { scimError } from '../scim/scim-error.js';
import { fromRoot } from '../helpers/paths.js';

// The snapshots of the source file, whether it runs compiled or not.
t.snapshotFile = fromRoot('tap-snapshots/test/repositories/filter-sql.test.ts.test.cjs');

// The snapshots pin the exact SQL and parameters of each filter.
const compiler = sqlCompiler;

function compiled(kind: ResourceKind, filter: string) {
  const table = kind === 'User' ? 'users' : 'groups';
  const { sql, parameters } = compiler.selectFrom(table).select('id').where(compileFilter(kind, parseFilter(kind, filter))).compile();
  return { sql, parameters };
}

const GROUP_ID = '2819c223-7f76-453a-919d-413861904646';

t.test('compiled SQL', async (t) => {
  const cases: [ResourceKind, string][] = [
    ['User', 'userName eq "Bjensen"'],
    ['User', 'userName sw "J" and userName ew "%_\\\\"'],
    ['User', 'userName gt "m"'],
    ['User', 'externalId eq "ext-1"'],
    ['User', `id eq "${GROUP_ID}"`],
    ['User', 'id eq "not-a-uuid"'],
    ['User', 'id sw "2819"'],
    ['User', 'active eq false'],
    ['User', 'active pr'],
    ['User', 'meta.lastModified gt "2011-05-13T04:42:34Z"'],
    ['User', 'meta.created le "2011-05-13T04:42:34+02:00"'],
    ['User', 'meta.resourceType eq "User"'],
    ['User', 'meta.version eq "W/\\"3\\""'],
    ['User', 'meta pr and meta.location pr'],
    ['User', 'name.familyName co "O\'Malley"'],
    ['User', 'displayName pr'],
    ['User', 'title ne "Boss"'],
    ['User', 'title eq null'],
    ['User', 'name pr'],
    ['User', `${ENT}:manager.value eq "${GROUP_ID}"`],
    ['User', `${ENT}:department eq "R&D"`],
    ['User', 'emails.value co "@example.com"'],
    ['User', 'emails co "@example.com"'],
    ['User', 'emails[type eq "work" and value co "@example.com"]'],
    ['User', 'emails[primary eq true]'],
    ['User', 'emails.value ne "a@x.com"'],
    ['User', 'emails pr'],
    ['User', 'emails.type pr'],
    ['User', 'not (emails[type eq "work"]) or ims[type eq "xmpp"]'],
    ['User', `groups.value eq "${GROUP_ID}"`],
    ['User', 'groups[display eq "Admins"]'],
    ['User', 'groups.display co "adm" and groups.type eq "direct"'],
    ['User', 'not (groups pr)'],
    ['User', 'userName eq "a" or userName eq "b" and not (active eq true)'],
    ['Group', 'displayName eq "Admins"'],
    ['Group', `members[value eq "${GROUP_ID}"]`],
    ['Group', `members.value eq "${GROUP_ID}"`],
    ['Group', 'members.value co "2819"'],
    ['Group', 'members[display eq "Ada"]'],
    ['Group', 'members pr'],
    ['Group', 'members.value ne "x"'],
    ['Group', 'externalId eq "g-1" and meta.lastModified ge "2020-01-01T00:00:00Z"'],
  ];
  for (const [kind, filter] of cases) t.matchSnapshot(compiled(kind, filter), `${kind}: ${filter}`);
});

t.test('compiled sort keys', async (t) => {
  const cases: [ResourceKind, string][] = [
    ['User', 'userName'],
    ['User', 'externalId'],
    ['User', 'id'],
    ['User', 'meta.lastModified'],
    ['User', 'active'],
    ['User', 'name.familyName'],
    ['User', `${ENT}:employeeNumber`],
    ['User', 'emails'],
    ['User', 'emails.type'],
    ['User', 'addresses.locality'],
    ['Group', 'displayName'],
  ];
  for (const [kind, sortBy] of cases) {
    const table = kind === 'User' ? 'users' : 'groups';
    const { sql, parameters } = compiler.selectFrom(table).select('id').orderBy(compileSort(kind, sortBy)).compile();
    t.matchSnapshot({ sql, parameters }, `${kind}: ${sortBy}`);
  }
});

t.test('values never reach the SQL text', async (t) => {
  const hostile = `x' or 1=1; drop table users; --"\\`;
  const filter = `userName eq ${JSON.stringify(hostile)} or emails[value co ${JSON.stringify(hostile)}] or name.givenName sw ${JSON.stringify(hostile)}`;
  const { sql, parameters } = compiled('User', filter);
  t.notOk(sql.includes('drop table'), 'not in the SQL');
  t.same(parameters, [hostile, `%${likePattern('co', hostile).slice(1, -1)}%`, likePattern('sw', hostile)]);
});

t.test('LIKE patterns escape %, _ and \\', async (t) => {
  t.equal(likePattern('co', '50%_off\\'), '%50\\%\\_off\\\\%');
  t.equal(likePattern('sw', 'a'), 'a%');
  t.equal(likePattern('ew', 'a'), '%a');
});

t.test('errors', async (t) => {
  const filterError = (kind: ResourceKind, filter: string, detail: RegExp) =>
    t.throws(() => compileFilter(kind, parseFilter(kind, filter)), scimError('invalidFilter', detail), filter);
  filterError('User', 'meta.location eq "https://x/Users/1"', /meta\.location is derived/);
  filterError('Group', 'members.$ref eq "x"', /members\.\$ref is derived/);

  const sortError = (kind: ResourceKind, sortBy: string, detail: RegExp) =>
    t.throws(() => compileSort(kind, sortBy), scimError('invalidValue', detail), sortBy);
  sortError('User', 'nope', /Invalid sortBy "nope": unknown attribute/);
  sortError('User', 'password', /unknown attribute/);
  sortError('Group', 'userName', /unknown attribute/);
  sortError('User', 'name', /complex attribute/);
  sortError('User', 'addresses', /cannot be sorted/);
  sortError('User', 'groups.display', /cannot be sorted/);
  sortError('Group', 'members', /cannot be sorted/);
  sortError('User', 'meta.location', /not sortable/);
  sortError('User', 'meta', /not sortable/);
});

// ---------------------------------------------------------------------------------------------
// Against a real database (PGlite, or PostgreSQL with TEST_DB=postgres).

t.test('filters select the right rows', async (t) => {
  const { db, workspaceId } = await createTestDb(t);
  const id = { ada: randomUUID(), grace: randomUUID(), linus: randomUUID(), nobody: randomUUID(), weird: randomUUID() };
  const gid = { engineers: randomUUID(), admins: randomUUID(), empty: randomUUID() };

  const user = (key: keyof typeof id, userName: string, updatedAt: string, resource: Record<string, unknown>, columns: { active?: boolean; externalId?: string } = {}) => ({
    id: id[key],
    workspace_id: workspaceId,
    user_name: userName,
    external_id: columns.externalId ?? null,
    active: columns.active ?? true,
    resource: JSON.stringify({ userName, ...resource }),
    updated_at: updatedAt,
  });
  await db
    .insertInto('users')
    .values([
      user('ada', 'Ada.Lovelace@Example.com', '2024-01-01T00:00:00Z', {
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        displayName: 'Ada Lovelace',
        title: 'Countess',
        emails: [
          { value: 'ada@example.com', type: 'work', primary: true },
          { value: 'ada@home.org', type: 'home' },
        ],
        [ENT]: { employeeNumber: '1', manager: { value: id.grace } },
      }, { externalId: 'ext-ada' }),
      user('grace', 'grace', '2025-06-01T00:00:00Z', {
        title: '',
        emails: [{ value: 'grace_hopper@navy.mil', type: 'work' }],
        [ENT]: { department: 'R&D' },
      }, { active: false }),
      user('linus', '100%_real\\user', '2024-03-01T00:00:00Z', {
        name: { givenName: '', familyName: null },
        emails: [{ value: 'l@x.com', primary: 'True', type: 'Work' }],
      }),
      user('nobody', 'nobody', '2024-02-01T00:00:00Z', { emails: [] }),
      // Malformed documents must not break a query: scalars where objects and arrays belong.
      user('weird', 'weird', '2023-01-01T00:00:00Z', { emails: 'x@y.z', name: 'Weird', title: 5, score: 'high', hired: 'soon' }),
    ])
    .execute();
  await db
    .insertInto('groups')
    .values([
      { id: gid.engineers, workspace_id: workspaceId, display_name: 'Engineers', resource: JSON.stringify({ displayName: 'Engineers' }) },
      { id: gid.admins, workspace_id: workspaceId, display_name: 'Admins', external_id: 'g-admins', resource: JSON.stringify({ displayName: 'Admins' }) },
      { id: gid.empty, workspace_id: workspaceId, display_name: 'Empty', resource: JSON.stringify({ displayName: 'Empty' }) },
    ])
    .execute();
  await db
    .insertInto('group_members')
    .values([
      { group_id: gid.engineers, user_id: id.ada, workspace_id: workspaceId },
      { group_id: gid.engineers, user_id: id.grace, workspace_id: workspaceId },
      { group_id: gid.admins, user_id: id.ada, workspace_id: workspaceId },
    ])
    .execute();

  const userNames = async (where: FilterNode) => {
    const rows = await db.selectFrom('users').select('user_name').where(compileFilter('User', where)).orderBy('user_name').execute();
    return rows.map((r) => r.user_name);
  };
  const users = (filter: string) => userNames(parseFilter('User', filter));
  const groups = async (filter: string) => {
    const rows = await db.selectFrom('groups').select('display_name').where(compileFilter('Group', parseFilter('Group', filter))).orderBy('display_name').execute();
    return rows.map((r) => r.display_name);
  };
  const ADA = 'Ada.Lovelace@Example.com';
  const LINUS = '100%_real\\user';
  const ALL = [LINUS, ADA, 'grace', 'nobody', 'weird'];

  const userCases: [string, string[]][] = [
    // userName is case-insensitive (Okta looks users up with the upper-cased name).
    ['userName eq "ADA.LOVELACE@example.com"', [ADA]],
    ['userName eq "ada"', []],
    // %, _ and \ in co/sw/ew are literal.
    ['userName co "%_"', [LINUS]],
    ['userName co "_"', [LINUS]],
    ['userName co "%"', [LINUS]],
    ['userName sw "100%"', [LINUS]],
    ['userName co "\\\\"', [LINUS]],
    ['userName ew "\\\\USER"', [LINUS]],
    ['userName co "l_v"', []],
    ['emails.value co "e_h"', ['grace']],
    ['emails.value co "e%h"', []],
    ['userName gt "n"', ['nobody', 'weird']],
    ['externalId eq "ext-ada"', [ADA]],
    ['externalId eq "EXT-ADA"', []],
    ['externalId pr', [ADA]],
    [`id eq "${id.ada}"`, [ADA]],
    [`id eq "${id.ada.toUpperCase()}"`, [ADA]],
    [`id sw "${id.ada.slice(0, 8)}"`, [ADA]],
    ['id eq "not-a-uuid"', []],
    ['active eq false', ['grace']],
    ['not (active eq true)', ['grace']],
    ['meta.lastModified gt "2024-06-01T00:00:00Z"', ['grace']],
    ['meta.lastModified ge "2024-03-01T01:00:00+01:00"', [LINUS, 'grace']],
    ['meta.lastModified lt "2024-01-01T00:00:00"', ['weird']],
    ['meta.resourceType eq "User"', ALL],
    ['meta.resourceType eq "user"', []],
    ['meta.version eq "W/\\"1\\""', ALL],
    ['meta pr', ALL],
    ['name.givenName eq "ada"', [ADA]],
    ['name[givenName sw "A" and familyName ew "lace"]', [ADA]],
    ['name.givenName pr', [ADA]],
    ['name pr', [ADA]],
    ['not (name pr)', [LINUS, 'grace', 'nobody', 'weird']],
    ['title pr', [ADA, 'weird']],
    ['title eq "5"', ['weird']],
    // ne and not (eq) agree: a missing or empty title is "not equal".
    ['title ne "Countess"', [LINUS, 'grace', 'nobody', 'weird']],
    ['not (title eq "Countess")', [LINUS, 'grace', 'nobody', 'weird']],
    ['title eq null', [LINUS, 'grace', 'nobody']],
    [`${ENT}:manager.value eq "${id.grace}"`, [ADA]],
    [`${ENT.toLowerCase()}:MANAGER.value eq "${id.grace.toUpperCase()}"`, [ADA]],
    [`${ENT}:department eq "r&d"`, ['grace']],
    [`${ENT}:employeeNumber pr`, [ADA]],
    // Multi-valued: any element; a value filter needs one element that satisfies all of it.
    ['emails.value eq "ADA@home.org"', [ADA]],
    ['emails co "navy"', ['grace']],
    ['emails[type eq "work" and value co "@example.com"]', [ADA]],
    ['emails[type eq "work" and value co "home.org"]', []],
    ['emails.type eq "work" and emails.value co "home.org"', [ADA]],
    ['emails[type eq "WORK"]', [LINUS, ADA, 'grace']],
    ['emails[primary eq true]', [LINUS, ADA]],
    ['emails[not (primary eq true)]', [ADA, 'grace']],
    ['emails pr', [LINUS, ADA, 'grace']],
    ['not (emails pr)', ['nobody', 'weird']],
    ['emails.value ne "ada@example.com"', [LINUS, ADA, 'grace', 'nobody', 'weird']],
    ['emails.value ne "grace_hopper@navy.mil"', [LINUS, ADA, 'nobody', 'weird']],
    ['emails.value eq "x@y.z"', []],
    // Memberships come from group_members.
    [`groups.value eq "${gid.admins}"`, [ADA]],
    [`groups[value eq "${gid.engineers}"]`, [ADA, 'grace']],
    ['groups[display eq "engineers"]', [ADA, 'grace']],
    ['groups.display co "MIN"', [ADA]],
    ['groups.type eq "direct"', [ADA, 'grace']],
    ['groups pr', [ADA, 'grace']],
    ['not (groups pr)', [LINUS, 'nobody', 'weird']],
    ['groups.value ne "x"', ALL],
    // Precedence: and binds tighter than or; not applies to its parenthesis.
    ['userName eq "grace" or userName eq "nobody" and active eq false', ['grace']],
    ['(userName eq "grace" or userName eq "nobody") and active eq true', ['nobody']],
    ['not (userName eq "grace" or title pr) and not (emails pr)', ['nobody']],
    ['not (not (userName eq "grace"))', ['grace']],
    ['userName eq "x" or not (emails[type eq "work"]) and not (userName eq "weird")', ['nobody']],
  ];
  for (const [filter, expected] of userCases) t.same(await users(filter), expected, filter);

  const groupCases: [string, string[]][] = [
    ['displayName eq "ENGINEERS"', ['Engineers']],
    ['displayName sw "e"', ['Empty', 'Engineers']],
    [`members[value eq "${id.grace}"]`, ['Engineers']],
    [`members.value eq "${id.ada}"`, ['Admins', 'Engineers']],
    [`members[value eq "${id.ada.toUpperCase()}"]`, ['Admins', 'Engineers']],
    [`members.value co "${id.grace.slice(9, 18)}"`, ['Engineers']],
    ['members.value eq "not-a-uuid"', []],
    ['members pr', ['Admins', 'Engineers']],
    ['not (members pr)', ['Empty']],
    ['members.value ne "x"', ['Admins', 'Empty', 'Engineers']],
    [`members.value ne "${id.ada}"`, ['Empty', 'Engineers']],
    // A member's display is its displayName, else its userName.
    ['members[display eq "ada lovelace"]', ['Admins', 'Engineers']],
    ['members.display eq "GRACE"', ['Engineers']],
    ['members.type eq "User"', ['Admins', 'Engineers']],
    ['externalId eq "g-admins"', ['Admins']],
    ['meta.resourceType eq "Group"', ['Admins', 'Empty', 'Engineers']],
  ];
  for (const [filter, expected] of groupCases) t.same(await groups(filter), expected, filter);

  // Types that no schema attribute has yet, compiled from hand-made references: the jsonb
  // casts are guarded, so junk values read as "no value" instead of failing the query.
  await db.updateTable('users').set({ resource: JSON.stringify({ score: 42, hired: '2019-12-31T23:30:00-01:00' }) }).where('id', '=', id.nobody).execute();
  await db.updateTable('users').set({ resource: JSON.stringify({ score: '7', hired: '2020-01-01T00:30:00' }) }).where('id', '=', id.linus).execute();
  const ref = (name: string, type: 'integer' | 'dateTime') => ({ attribute: attr(name, type), path: name });
  t.same(await userNames({ op: 'gt', attr: ref('score', 'integer'), value: 10 }), ['nobody']);
  t.same(await userNames({ op: 'le', attr: ref('score', 'integer'), value: 7 }), [LINUS]);
  t.same(await userNames({ op: 'ge', attr: ref('hired', 'dateTime'), value: '2020-01-01T00:15:00Z' }), [LINUS, 'nobody']);
  t.same(await userNames({ op: 'lt', attr: ref('hired', 'dateTime'), value: '2020-01-01T00:15:00Z' }), []);
  t.same(await userNames({ op: 'ne', attr: ref('hired', 'dateTime'), value: '2020-01-01T00:30:00Z' }), [ADA, 'grace', 'weird']);
});

t.test('sort keys order the rows', async (t) => {
  const { db, workspaceId } = await createTestDb(t);
  const rows = [
    { user_name: 'bob', resource: { name: { familyName: 'Zeta' }, emails: [{ value: 'b2@x.com' }, { value: 'b1@x.com', primary: true }], title: 'b' } },
    { user_name: 'Alice', resource: { name: { familyName: 'alpha' }, emails: [{ value: 'a@x.com' }] } },
    { user_name: 'carol', resource: { name: { familyName: '' }, emails: [{ value: 'Z@x.com' }, { value: 'c@x.com' }], title: 'a' } },
    { user_name: 'dave', resource: { emails: [{ type: 'work' }, { value: 'd@x.com', primary: 'true' }] } },
  ];
  await db
    .insertInto('users')
    .values(rows.map((r) => ({ id: randomUUID(), workspace_id: workspaceId, user_name: r.user_name, resource: JSON.stringify(r.resource) })))
    .execute();
  const sorted = async (sortBy: string, direction: 'asc' | 'desc' = 'asc') => {
    const result = await db.selectFrom('users').select('user_name').orderBy(compileSort('User', sortBy), direction).orderBy('user_name').execute();
    return result.map((r) => r.user_name);
  };
  t.same(await sorted('userName'), ['Alice', 'bob', 'carol', 'dave'], 'case-insensitive');
  t.same(await sorted('USERNAME', 'desc'), ['dave', 'carol', 'bob', 'Alice']);
  // RFC 7644 §3.4.2.3: resources without a value sort last ascending, first descending; "" is no value.
  t.same(await sorted('name.familyName'), ['Alice', 'bob', 'carol', 'dave']);
  t.same(await sorted('name.familyName', 'desc'), ['carol', 'dave', 'bob', 'Alice']);
  t.same(await sorted('title'), ['carol', 'bob', 'Alice', 'dave']);
  // Multi-valued: the primary value, else the first value.
  t.same(await sorted('emails'), ['Alice', 'bob', 'dave', 'carol']);
  t.same(await sorted('emails.value', 'desc'), ['carol', 'dave', 'bob', 'Alice']);
});
