import t from 'tap';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../../src/access/errors.js';
import { RECOMMENDED_PERMISSIONS, RECOMMENDED_ROLES } from '../../src/access/recommended.js';
import {
  assignRole,
  createMapping,
  createPermission,
  createRole,
  deletePermission,
  deleteRole,
  getAccessSettings,
  getRole,
  initWorkspaceAccess,
  listMappings,
  listPermissions,
  rolesPage,
  listUserRoles,
  unassignRole,
  updateAccessSettings,
  updatePermission,
  updateRole,
} from '../../src/services/access.service.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { createTestDb } from '../helpers/db.js';
import { auditOf, clearAccess, insertGroup, insertUsers, lastSeq, latestEvent, snapshotOf } from './helpers.js';

// The admin use-cases the REST API calls: seeding, validation that names the field, conflicts,
// and the audit events of each write.

t.test('a new workspace is seeded with the recommended model; init is idempotent and audited', async (t) => {
  const { db, workspaceId: ws } = await createTestDb(t);
  t.same((await listPermissions(db, ws)).map((p) => p.key), RECOMMENDED_PERMISSIONS.map((p) => p.key).sort());
  const roles = (await rolesPage(db, ws, { limit: 50 })).items;
  t.same(roles.map((r) => r.name).sort(), [...RECOMMENDED_ROLES.map((r) => r.name), 'Default'].sort());
  t.ok(roles.find((r) => r.name === 'Default')!.isDefault);
  t.same(roles.find((r) => r.name === 'Restricted')!.permissions.codex_local, 'deny');
  const mappings = await listMappings(db, ws);
  t.same(mappings.map((m) => [m.group.value, m.roleName]).sort(), [
    ['codex-admins', 'Codex Admin'],
    ['codex-cloud-users', 'Codex Cloud'],
    ['codex-local-users', 'Codex Local'],
    ['codex-restricted', 'Restricted'],
  ]);
  t.same(mappings[0]!.matchedGroups, [], 'the groups are not pushed yet');
  t.equal(await lastSeq(db, ws), 0, 'seeding a new workspace records no events (it has no history yet)');
  t.same(await getAccessSettings(db, ws), { strategy: 'most-permissive', defaultRoleId: roles.find((r) => r.name === 'Default')!.id, defaultRoleName: 'Default' });

  const again = await initWorkspaceAccess(db, auditOf(ws));
  t.same(again.result, { permissionsCreated: [], rolesCreated: [], mappingsCreated: [], defaultRoleId: roles.find((r) => r.name === 'Default')!.id });
  t.equal(await lastSeq(db, ws), 0, 'nothing to add, nothing recorded');

  // An existing workspace with users and an already-pushed group, never seeded (e.g. created
  // before the access model existed): init adds the model, records it, and grants access now.
  const { workspace } = await ensureWorkspace(db, 'legacy');
  await clearAccess(db, workspace.id);
  const [u] = await insertUsers(db, workspace.id, [{ userName: 'old@example.com' }]);
  await insertGroup(db, workspace.id, 'codex-local-users', { members: [u!] });
  const init = await initWorkspaceAccess(db, auditOf(workspace.id));
  t.equal(init.result.permissionsCreated.length, 8);
  t.equal(init.result.rolesCreated.length, 5);
  t.equal(init.result.mappingsCreated.length, 4);
  t.same(init.accessChanges.map((c) => [c.userId, c.after]), [[u, ['codex_local']]]);
  const types = await db.selectFrom('audit_events').select('event_type').where('workspace_id', '=', workspace.id).orderBy('seq').execute();
  t.same(
    Object.entries(types.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.event_type]: (acc[r.event_type] ?? 0) + 1 }), {})).sort(),
    [['access.changed', 1], ['mapping.created', 4], ['permission.created', 8], ['role.created', 5], ['workspace.default_role_changed', 1]],
  );
});

t.test('permissions: validation, conflicts, baseline changes recompute', async (t) => {
  const { db, workspaceId: ws } = await createTestDb(t);
  const audit = auditOf(ws);
  await t.rejects(createPermission(db, audit, { key: 'codex_local' }), AccessConflictError);
  const [u] = await insertUsers(db, ws, [{ userName: 'p@example.com' }]);

  const created = await createPermission(db, audit, { key: 'codex_apps', description: 'Apps in Codex', baseline: true });
  t.match(created.result, { key: 'codex_apps', baseline: true });
  t.same(created.accessChanges.map((c) => [c.userId, c.after]), [[u, ['codex_apps']]], 'a baseline-on permission is granted at once');
  t.match((await latestEvent(db, ws, 'permission.created', 'codex_apps'))!.data, { key: 'codex_apps', baseline: true });

  const off = await updatePermission(db, audit, 'codex_apps', { baseline: false });
  t.same(off.accessChanges.map((c) => c.after), [[]]);
  t.match((await latestEvent(db, ws, 'permission.updated', 'codex_apps'))!.data, { changed: ['baseline'], before: { baseline: true }, after: { baseline: false } });
  await t.rejects(updatePermission(db, audit, 'nope', { baseline: true }), AccessNotFoundError);

  // A permission some role allows: deleting it takes it from holders and from the role.
  const role = await createRole(db, audit, { name: 'Apps', permissions: { codex_apps: 'allow', access_tokens: 'allow' } });
  await assignRole(db, audit, u!, role.result.id);
  t.same((await snapshotOf(db, ws)).get(u!), ['access_tokens', 'codex_apps']);
  const deleted = await deletePermission(db, audit, 'codex_apps');
  t.same(deleted.result.roles, [{ roleId: role.result.id, effect: 'allow' }]);
  t.same((await snapshotOf(db, ws)).get(u!), ['access_tokens']);
  t.same((await getRole(db, ws, role.result.id)).permissions, { access_tokens: 'allow' }, 'access_tokens is a permission key, not a secret');
  t.match((await latestEvent(db, ws, 'role.created', role.result.id))!.data, { permissions: { access_tokens: 'allow' } }, 'and is not redacted in the audit trail');
});

t.test('roles: validation names the field, names are unique case-insensitively, the default role is protected', async (t) => {
  const { db, workspaceId: ws } = await createTestDb(t);
  const audit = auditOf(ws);
  // Shapes are the route schemas' (test/routes/admin/access.test.ts); a key outside the catalogue needs the data.
  await t.rejects(createRole(db, audit, { name: 'X', permissions: { no_such: 'allow' } }), { name: 'AccessValidationError', field: 'permissions.no_such' });
  await t.rejects(updateRole(db, audit, 'codex admin', { permissions: { codex_local: 'allow', no_such: 'deny' } }), { name: 'AccessValidationError', field: 'permissions.no_such' });
  await t.rejects(createRole(db, audit, { name: 'codex admin' }), { name: 'AccessConflictError', field: 'name' });

  const r = (await createRole(db, audit, { name: 'Reviewers', description: 'PR review', permissions: { code_review: 'allow', codex_cloud: 'inherit' } })).result;
  t.same(r.permissions, { code_review: 'allow' }, 'inherit is not stored');
  await t.rejects(updateRole(db, audit, r.id, { name: 'DEFAULT' }), { name: 'AccessConflictError', field: 'name' });
  const merged = await updateRole(db, audit, r.id, { permissions: { codex_cloud: 'deny' } });
  t.same(merged.result.permissions, { code_review: 'allow', codex_cloud: 'deny' }, 'permissions merge by default');
  const replaced = await updateRole(db, audit, r.id, { permissions: { codex_local: 'allow' }, replacePermissions: true });
  t.same(replaced.result.permissions, { codex_local: 'allow' });
  const reset = await updateRole(db, audit, r.id, { permissions: { codex_local: 'inherit' } });
  t.same(reset.result.permissions, {});
  t.equal((await getRole(db, ws, 'REVIEWERS')).id, r.id, 'found by name, case-insensitively');
  await t.rejects(updateRole(db, audit, '00000000-0000-4000-8000-000000000000', { name: 'x' }), AccessNotFoundError);

  const settings = await getAccessSettings(db, ws);
  await t.rejects(deleteRole(db, audit, settings.defaultRoleId!), AccessConflictError);
  await t.rejects(updateAccessSettings(db, audit, { defaultRoleId: '00000000-0000-4000-8000-000000000000' }), { name: 'AccessValidationError', field: 'defaultRoleId' });

  // Deleting a role records its mappings and assignments going, then the role.
  const [u] = await insertUsers(db, ws, [{ userName: 'r@example.com' }]);
  const g = await insertGroup(db, ws, 'reviewers', { members: [u!] });
  await updateRole(db, audit, r.id, { permissions: { code_review: 'allow' } });
  const m = (await createMapping(db, audit, { roleId: r.id, groupId: g })).result;
  t.same(m.matchedGroups, [{ id: g, displayName: 'reviewers' }]);
  t.same((await assignRole(db, audit, u!, r.id)).result, { assigned: true });
  t.same((await assignRole(db, audit, u!, r.id)).result, { assigned: false }, 'assigning twice changes nothing');
  t.same((await listUserRoles(db, ws, u!)).map((x) => x.roleName), ['Reviewers']);
  const seq = await lastSeq(db, ws);
  const gone = await deleteRole(db, audit, r.id);
  t.same(gone.accessChanges.map((c) => [c.userId, c.before, c.after]), [[u, ['code_review'], []]]);
  const after = await db.selectFrom('audit_events').select(['event_type', 'id', 'cause_id']).where('workspace_id', '=', ws).where('seq', '>', seq).orderBy('seq').execute();
  t.same(after.map((e) => e.event_type), ['mapping.deleted', 'user.role_unassigned', 'role.deleted', 'access.changed']);
  t.equal(after[3]!.cause_id, after[2]!.id);
  t.same(await listMappings(db, ws, { roleId: r.id }), []);
});

t.test('mappings and assignments: validation and not-found', async (t) => {
  const { db, workspaceId: ws } = await createTestDb(t);
  const audit = auditOf(ws);
  const role = await getRole(db, ws, 'Codex Local');
  await t.rejects(createMapping(db, audit, { roleId: role.id }), { name: 'AccessValidationError', field: 'groupDisplayName' });
  await t.rejects(createMapping(db, audit, { roleId: role.id, groupDisplayName: 'a', groupExternalId: 'b' }), { name: 'AccessValidationError', field: 'groupDisplayName' });
  await t.rejects(createMapping(db, audit, { roleId: 'x', groupDisplayName: 'a' }), { name: 'AccessValidationError', field: 'roleId' });
  await t.rejects(createMapping(db, audit, { roleId: role.id, groupId: '00000000-0000-4000-8000-000000000000' }), { name: 'AccessValidationError', field: 'groupId' });
  await t.rejects(createMapping(db, audit, { roleId: role.id, groupDisplayName: 'CODEX-LOCAL-USERS' }), { name: 'AccessConflictError' });
  const m = await createMapping(db, audit, { roleId: role.id, groupExternalId: 'okta-123' });
  t.match(m.result, { roleName: 'Codex Local', group: { by: 'externalId', value: 'okta-123' }, matchedGroups: [] });
  t.match((await latestEvent(db, ws, 'mapping.created', m.result.id))!.data, { roleId: role.id, matchedBy: 'externalId', value: 'okta-123', groupId: null });

  const [u] = await insertUsers(db, ws, [{ userName: 'a@example.com' }]);
  await t.rejects(assignRole(db, audit, '00000000-0000-4000-8000-000000000000', role.id), AccessNotFoundError);
  await t.rejects(assignRole(db, audit, u!, 'nope'), AccessValidationError);
  await t.rejects(unassignRole(db, audit, u!, role.id), { name: 'AccessNotFoundError', resource: 'assignment' });
  const assigned = await assignRole(db, audit, u!, role.id);
  t.same(assigned.accessChanges.map((c) => c.after), [['codex_local']]);
  const unassigned = await unassignRole(db, audit, u!, role.id);
  t.same(unassigned.accessChanges.map((c) => c.after), [[]]);
});
