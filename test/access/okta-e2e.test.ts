import t from 'tap';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../../src/access/errors.js';
import { updateAccessSettings } from '../../src/services/access.service.js';
import { effectivePermissions, effectivePermissionsBatch, permissionHolders } from '../../src/services/effective-access.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { accessEvents, auditOf, lastSeq, latestEvent } from './helpers.js';

// Okta-style provisioning (the shapes of test/idp/okta) of users into the four recommended Codex
// groups of a freshly seeded workspace, then the effective permissions with their reasons, as the
// admin API will show them (the endpoints call these services).

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ALL = ['access_tokens', 'agent_internet', 'code_review', 'codex_admin', 'codex_cloud', 'codex_local', 'codex_security', 'codex_security_admin'];

async function oktaCreateUser(app: TestApp, login: string, given: string): Promise<string> {
  const res = await app.scim('POST', '/Users', {
    schemas: [USER],
    userName: login,
    name: { givenName: given, familyName: 'Example' },
    emails: [{ primary: true, value: login.replace('@corp.example', '@example.com'), type: 'work' }],
    displayName: `${given} Example`,
    locale: 'en-US',
    externalId: `00u${given.toLowerCase()}`,
    groups: [],
    password: 'Okta-sends-this-1',
    active: true,
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return JSON.parse(res.body).id as string;
}

/** Okta Group Push: create empty, then PATCH members with the displayName replace it always sends. */
async function oktaPushGroup(app: TestApp, displayName: string, members: string[]): Promise<string> {
  const created = await app.scim('POST', '/Groups', { schemas: [GROUP], displayName, members: [] });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = JSON.parse(created.body).id as string;
  const res = await app.scim('PATCH', `/Groups/${id}`, {
    schemas: [PATCH],
    Operations: [
      { op: 'replace', value: { id, displayName } },
      { op: 'add', path: 'members', value: members.map((value) => ({ value, display: value })) },
    ],
  });
  if (res.statusCode !== 200) throw new Error(res.body);
  return id;
}

t.test('Okta provisioning into the Codex groups → effective permissions with reasons', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;

  const ada = await oktaCreateUser(app, 'ada@corp.example', 'Ada');
  const lin = await oktaCreateUser(app, 'lin@corp.example', 'Lin');
  const cloe = await oktaCreateUser(app, 'cloe@corp.example', 'Cloe');
  const rex = await oktaCreateUser(app, 'rex@corp.example', 'Rex');
  const nob = await oktaCreateUser(app, 'nob@corp.example', 'Nob');
  const dee = await oktaCreateUser(app, 'dee@corp.example', 'Dee');

  await oktaPushGroup(app, 'codex-admins', [ada, dee]);
  await oktaPushGroup(app, 'codex-local-users', [lin, cloe, rex]);
  await oktaPushGroup(app, 'codex-cloud-users', [cloe]);
  const restricted = await oktaPushGroup(app, 'codex-restricted', [rex]);
  // Okta "removes" a user by deactivating them.
  t.equal((await app.scim('PATCH', `/Users/${dee}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] })).statusCode, 200);

  const value = (e: Awaited<ReturnType<typeof effectivePermissions>>, key: string) => e.permissions.find((p) => p.key === key)!;

  // A Codex admin, looked up by userName.
  const a = await effectivePermissions(db, ws, 'ada@corp.example');
  t.equal(a.user.id, ada);
  t.same(a.granted, ALL);
  t.same(a.snapshot?.granted, ALL, 'the stored snapshot agrees');
  t.match(a.roles, [{ roleName: 'Codex Admin', sources: [{ type: 'group', groupDisplayName: 'codex-admins', matchedBy: 'displayName', mappingValue: 'codex-admins' }] }]);
  t.match(value(a, 'codex_admin').reasons, [/^allowed by role "Codex Admin" \(via group "codex-admins" \(mapping [0-9a-f-]{36} matches its displayName "codex-admins"\)\)$/]);
  t.match(a.groups, [{ displayName: 'codex-admins', mappingIds: [a.roles[0]!.sources[0]!.type === 'group' ? (a.roles[0]!.sources[0] as { mappingId: string }).mappingId : ''] }]);

  // Local only, looked up by email (Okta's primary email differs from the login).
  const l = await effectivePermissions(db, ws, 'LIN@example.com');
  t.equal(l.user.id, lin);
  t.same(l.granted, ['codex_local']);
  t.equal(value(l, 'codex_cloud').decidedBy, 'baseline');
  t.match(value(l, 'codex_cloud').reasons, [/none of the user's roles allows or denies it: the workspace baseline \(off\) applies/]);

  // Two groups: the union.
  const c = await effectivePermissions(db, ws, cloe);
  t.same(c.granted, ['code_review', 'codex_cloud', 'codex_local']);
  t.same(c.roles.map((r) => r.roleName), ['Codex Cloud', 'Codex Local']);

  // Local + Restricted under most-permissive: the allow wins, and the explanation says so.
  const r = await effectivePermissions(db, ws, 'rex@corp.example');
  t.same(r.granted, ['codex_local']);
  t.equal(value(r, 'codex_local').decidedBy, 'allow');
  t.match(value(r, 'codex_local').reasons.join('\n'), /the deny of role "Restricted" \(via group "codex-restricted" .*\) is overridden: strategy most-permissive/);
  t.equal(value(r, 'codex_cloud').decidedBy, 'deny');

  // In no Codex group: the default role, which grants nothing.
  const n = await effectivePermissions(db, ws, 'nob@corp.example');
  t.same(n.granted, []);
  t.equal(n.usedDefaultRole, true);
  t.match(n.roles, [{ roleName: 'Default', sources: [{ type: 'default' }] }]);

  // Deactivated: nothing, whatever the groups say.
  const d = await effectivePermissions(db, ws, 'dee@corp.example');
  t.same(d.granted, []);
  t.equal(value(d, 'codex_admin').decidedBy, 'inactive');
  t.match(value(d, 'codex_admin').reasons, ['the user is deactivated (active=false) and holds nothing', /^if active: allowed by role "Codex Admin"/]);

  // Holders, a page at a time, from the snapshot.
  const firstPage = await permissionHolders(db, ws, 'codex_local', { limit: 2, includeTotal: true });
  t.equal(firstPage.total, 4);
  t.equal(firstPage.holders.length, 2);
  const secondPage = await permissionHolders(db, ws, 'codex_local', { limit: 2, cursor: firstPage.nextCursor });
  t.equal(secondPage.nextCursor, null);
  t.same([...firstPage.holders, ...secondPage.holders].map((h) => h.id).sort(), [ada, lin, cloe, rex].sort());
  t.same((await permissionHolders(db, ws, 'codex_admin')).holders.map((h) => h.userName), ['ada@corp.example']);
  t.match((await permissionHolders(db, ws, 'codex_admin')).holders[0], { email: 'ada@example.com', active: true });

  // Batch: the order of the request, unknown ids apart.
  const batch = await effectivePermissionsBatch(db, ws, [rex, nob, '00000000-0000-4000-8000-000000000000']);
  t.same(batch.results.map((x) => x.user.id), [rex, nob]);
  t.same(batch.notFound, ['00000000-0000-4000-8000-000000000000']);

  // The workspace switches to deny-overrides: Restricted now wins for rex, with an audit trail.
  const seq = await lastSeq(db, ws);
  const switched = await updateAccessSettings(db, auditOf(ws), { strategy: 'deny-overrides' });
  t.same(switched.accessChanges.map((x) => x.userId), [rex]);
  const events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [rex]);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'workspace.settings_changed'))!.id);
  const r2 = await effectivePermissions(db, ws, rex);
  t.same(r2.granted, []);
  t.match(value(r2, 'codex_local').reasons.join('\n'), /denied by role "Restricted".*\n.*the allow of role "Codex Local" .* is overridden: strategy deny-overrides/);

  // Okta removes rex from codex-restricted: access comes back, caused by the member event.
  await app.scim('PATCH', `/Groups/${restricted}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${rex}"]` }] });
  t.same((await effectivePermissions(db, ws, rex)).granted, ['codex_local']);
});

t.test('errors name what is wrong', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;
  await t.rejects(effectivePermissions(db, ws, 'nobody@example.com'), AccessNotFoundError);
  await t.rejects(permissionHolders(db, ws, 'no_such_permission'), AccessNotFoundError);
  await t.rejects(permissionHolders(db, ws, 'Bad Key'), AccessNotFoundError, 'no permission has a key of that shape');
  await t.rejects(permissionHolders(db, ws, 'codex_local', { cursor: 'garbage' }), { name: 'DomainError', kind: 'invalid', problems: [{ pointer: '/cursor' }] });
  // The batch's ids are checked by its route's schema (test/routes/admin/access.test.ts); what it cannot know is checked here.
  t.same(await effectivePermissionsBatch(db, ws, ['00000000-0000-4000-8000-000000000000']), { results: [], notFound: ['00000000-0000-4000-8000-000000000000'] });
  t.ok(new AccessValidationError('f', 'm') instanceof Error);

  // An email two users share is ambiguous.
  for (const name of ['one', 'two']) {
    await app.scim('POST', '/Users', { schemas: [USER], userName: `${name}@corp.example`, emails: [{ value: 'shared@example.com' }] });
  }
  await t.rejects(effectivePermissions(db, ws, 'shared@example.com'), AccessConflictError);
});
