import t, { type Test } from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// The access-model endpoints over the access services: CRUD with field-named validation errors,
// effective permissions with reasons (by id, userName or email), holders pages and the batch.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CHANGED = 'x-access-changed-users';

t.test('access model over the admin API', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;

  const expect400 = async (t: Test, method: string, url: string, body: unknown, field: string) => {
    const res = await api(method as 'POST', url, { body });
    t.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}`);
    t.match(json(res), { statusCode: 400, error: 'Bad Request', field, message: new RegExp(field.replace(/[.[\]]/g, '\\$&')) }, `field ${field}`);
  };

  const user = async (userName: string, extra: Record<string, unknown> = {}) => {
    const res = await scim('POST', '/Users', { schemas: [USER], userName, ...extra });
    t.equal(res.statusCode, 201, userName);
    return json(res).id as string;
  };
  const group = async (displayName: string, members: string[]) => {
    const res = await scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
    t.equal(res.statusCode, 201, displayName);
    return json(res).id as string;
  };

  t.test('permissions', async (t) => {
    const list = json(await api('GET', '/permissions')).items;
    t.ok(list.some((p: { key: string }) => p.key === 'codex_local'), 'seeded catalogue');

    const created = await api('POST', '/permissions', { body: { key: 'codex_mobile', description: 'Codex on phones' } });
    t.equal(created.statusCode, 201);
    t.match(json(created), { key: 'codex_mobile', description: 'Codex on phones', baseline: false, createdAt: String });
    t.equal(created.headers[CHANGED], '0');

    const duplicate = await api('POST', '/permissions', { body: { key: 'codex_mobile' } });
    t.equal(duplicate.statusCode, 409);
    t.match(json(duplicate), { statusCode: 409, error: 'Conflict', field: 'key' });

    await expect400(t, 'POST', '/permissions', { key: 'Codex-Mobile' }, 'key');
    await expect400(t, 'POST', '/permissions', {}, 'key');
    await expect400(t, 'POST', '/permissions', { key: 'x_y', baseline: 'yes' }, 'baseline');
    await expect400(t, 'POST', '/permissions', { key: 'x_y', colour: 'red' }, 'colour');
    await expect400(t, 'PATCH', '/permissions/codex_mobile', { description: 7 }, 'description');

    const patched = await api('PATCH', '/permissions/codex_mobile', { body: { description: 'Codex on phones and tablets' } });
    t.equal(patched.statusCode, 200);
    t.equal(json(patched).description, 'Codex on phones and tablets');
    t.equal(json(await api('GET', '/permissions/codex_mobile')).description, 'Codex on phones and tablets');
    t.equal((await api('GET', '/permissions/no_such')).statusCode, 404);

    const deleted = await api('DELETE', '/permissions/codex_mobile');
    t.equal(deleted.statusCode, 204);
    t.equal(deleted.body, '');
    t.equal((await api('GET', '/permissions/codex_mobile')).statusCode, 404);
    t.equal((await api('DELETE', '/permissions/codex_mobile')).statusCode, 404);
  });

  t.test('roles', async (t) => {
    const created = await api('POST', '/roles', { body: { name: 'Reviewers', description: 'PR review only', permissions: { code_review: 'allow', codex_cloud: 'deny', codex_local: 'inherit' } } });
    t.equal(created.statusCode, 201);
    const role = json(created);
    t.match(role, { name: 'Reviewers', permissions: { code_review: 'allow', codex_cloud: 'deny' }, isDefault: false });
    t.notOk('codex_local' in role.permissions, 'inherit is the absence of a setting');

    await expect400(t, 'POST', '/roles', { name: '' }, 'name');
    await expect400(t, 'POST', '/roles', { description: 'no name' }, 'name');
    await expect400(t, 'POST', '/roles', { name: 'X', permissions: { codex_local: 'maybe' } }, 'permissions.codex_local');
    await expect400(t, 'POST', '/roles', { name: 'X', permissions: { not_a_permission: 'allow' } }, 'permissions.not_a_permission');
    await expect400(t, 'POST', '/roles', { name: ' padded' }, 'name');
    await expect400(t, 'POST', '/roles', { name: 'tab\there' }, 'name');
    await expect400(t, 'POST', '/roles', { name: 'X', extra: true }, 'extra');
    const padded = json(await api('POST', '/roles', { body: { name: 'padded ' } }));
    t.match(padded, { detail: 'field name must not be blank, start or end with spaces, or contain control characters', errors: [{ pointer: '/name' }] }, 'the name rule in words, not its pattern');
    t.notOk(json(await api('GET', '/roles?limit=500')).items.some((r: { name: string }) => r.name.trim() !== r.name), 'no refused name was stored');
    const dup = await api('POST', '/roles', { body: { name: 'REVIEWERS' } });
    t.equal(dup.statusCode, 409, 'names are case-insensitive');
    t.equal(json(dup).field, 'name');

    t.equal(json(await api('GET', '/roles/reviewers')).id, role.id, 'by name');
    t.equal(json(await api('GET', `/roles/${role.id}`)).name, 'Reviewers', 'by id');
    t.ok(json(await api('GET', '/roles')).items.some((r: { id: string }) => r.id === role.id));

    const merged = json(await api('PATCH', `/roles/${role.id}`, { body: { permissions: { codex_local: 'allow', codex_cloud: 'inherit' } } }));
    t.same(merged.permissions, { code_review: 'allow', codex_local: 'allow' }, 'merge: inherit removes, others stay');
    t.ok(Date.parse(merged.updatedAt) > Date.parse(role.updatedAt), 'a change of permissions alone moves updatedAt');
    const replaced = json(await api('PATCH', `/roles/${role.id}`, { body: { permissions: { codex_security: 'allow' }, replacePermissions: true, name: 'Security reviewers' } }));
    t.same(replaced.permissions, { codex_security: 'allow' });
    t.equal(replaced.name, 'Security reviewers');
    await expect400(t, 'PATCH', `/roles/${role.id}`, { replacePermissions: 'yes' }, 'replacePermissions');
    t.equal((await api('PATCH', '/roles/nope', { body: { name: 'x' } })).statusCode, 404);

    const defaultRole = json(await api('GET', '/default-role'));
    t.ok(defaultRole.roleId, 'a seeded default role');
    const refused = await api('DELETE', `/roles/${defaultRole.roleId}`);
    t.equal(refused.statusCode, 409, 'the default role cannot be deleted');
    t.match(json(refused).message, /default role/);

    t.equal((await api('DELETE', `/roles/${role.id}`)).statusCode, 204);
    t.equal((await api('GET', `/roles/${role.id}`)).statusCode, 404);
  });

  t.test('mappings, direct roles, default role, settings and the effective permissions they produce', async (t) => {
    const ada = await user('ada@example.com', { emails: [{ value: 'ada.lovelace@example.org', type: 'work' }] });
    const roles = json(await api('GET', '/roles')).items as Array<{ id: string; name: string }>;
    const roleId = (name: string) => roles.find((r) => r.name === name)!.id;

    // A mapping by displayName works before the IdP pushes the group.
    const pilots = json(await api('POST', '/roles', { body: { name: 'Pilots', permissions: { agent_internet: 'allow', codex_security: 'deny' } } }));
    const mapping = await api('POST', '/mappings', { body: { roleId: pilots.id, groupDisplayName: 'codex-pilots' } });
    t.equal(mapping.statusCode, 201);
    t.match(json(mapping), { roleId: pilots.id, roleName: 'Pilots', group: { by: 'displayName', value: 'codex-pilots' }, matchedGroups: [] });
    t.equal(mapping.headers[CHANGED], '0', 'nobody is in the group yet');

    await expect400(t, 'POST', '/mappings', { roleId: pilots.id, groupDisplayName: 'a', groupExternalId: 'b' }, 'groupDisplayName');
    await expect400(t, 'POST', '/mappings', { roleId: 'pilots', groupDisplayName: 'a' }, 'roleId');
    await expect400(t, 'POST', '/mappings', { roleId: pilots.id, groupDisplayName: 'line\nbreak' }, 'groupDisplayName');
    await expect400(t, 'POST', '/mappings', { roleId: pilots.id, groupExternalId: '' }, 'groupExternalId');
    await expect400(t, 'POST', '/mappings', { roleId: '00000000-0000-0000-0000-000000000000', groupDisplayName: 'a' }, 'roleId');
    await expect400(t, 'POST', '/mappings', { roleId: pilots.id, groupId: '00000000-0000-0000-0000-000000000000' }, 'groupId');
    await expect400(t, 'GET', '/mappings?roleId=xyz', undefined, 'roleId');
    t.equal((await api('POST', '/mappings', { body: { roleId: pilots.id, groupDisplayName: 'CODEX-PILOTS' } })).statusCode, 409, 'the same mapping twice');

    const pilotsGroup = await group('codex-pilots', [ada]);
    await group('codex-local-users', [ada]);
    t.same(json(await api('GET', `/mappings?roleId=${pilots.id}`)).items.map((m: { matchedGroups: Array<{ id: string }> }) => m.matchedGroups.map((g) => g.id)), [[pilotsGroup]]);

    const byId = json(await api('GET', `/users/${ada}/effective-permissions`));
    const byUserName = json(await api('GET', '/users/ADA@example.com/effective-permissions'));
    const byEmail = json(await api('GET', '/users/ada.lovelace@example.org/effective-permissions'));
    t.same(byUserName, byId, 'by userName (case-insensitive)');
    t.same(byEmail, byId, 'by email');
    t.same(byId.granted, ['agent_internet', 'codex_local']);
    t.same(byId.snapshot.granted, byId.granted, 'the stored snapshot agrees');
    t.match(byId, { user: { id: ada, userName: 'ada@example.com' }, strategy: 'most-permissive', usedDefaultRole: false });
    const perm = (key: string) => byId.permissions.find((p: { key: string }) => p.key === key);
    t.match(perm('agent_internet'), {
      value: true,
      decidedBy: 'allow',
      allowedBy: [{ roleName: 'Pilots', sources: [{ type: 'group', groupId: pilotsGroup, groupDisplayName: 'codex-pilots', matchedBy: 'displayName' }] }],
    });
    t.match(perm('agent_internet').reasons[0], /allowed by role "Pilots" \(via group "codex-pilots"/);
    t.match(perm('codex_cloud'), { value: false, decidedBy: 'baseline' });
    t.match(perm('codex_security'), { value: false, decidedBy: 'deny', deniedBy: [{ roleName: 'Pilots' }] });

    // Direct roles, by the user's email.
    const assigned = await api('PUT', `/users/ada.lovelace@example.org/roles/${roleId('Codex Cloud')}`);
    t.equal(assigned.statusCode, 201);
    t.equal(assigned.headers[CHANGED], '1', "ada's access changed");
    t.match(json(assigned), [{ roleId: roleId('Codex Cloud'), roleName: 'Codex Cloud' }]);
    const again = await api('PUT', `/users/${ada}/roles/${roleId('Codex Cloud')}`);
    t.equal(again.statusCode, 200, 'idempotent');
    t.equal(again.headers[CHANGED], '0');
    t.same(json(await api('GET', '/users/ada@example.com/roles')).map((r: { roleName: string }) => r.roleName), ['Codex Cloud']);
    t.same(json(await api('GET', `/users/${ada}/effective-permissions`)).granted, ['agent_internet', 'code_review', 'codex_cloud', 'codex_local']);
    await expect400(t, 'PUT', `/users/${ada}/roles/not-a-uuid`, undefined, 'roleId');
    t.equal((await api('PUT', `/users/nobody@example.com/roles/${roleId('Codex Cloud')}`)).statusCode, 404);

    // Restricted (all deny) directly: most-permissive keeps the allows, deny-overrides does not.
    t.equal((await api('PUT', `/users/${ada}/roles/${roleId('Restricted')}`)).statusCode, 201);
    t.same(json(await api('GET', `/users/${ada}/effective-permissions`)).granted, ['agent_internet', 'code_review', 'codex_cloud', 'codex_local']);
    await expect400(t, 'PATCH', '/settings', { strategy: 'deny-wins' }, 'strategy');
    await expect400(t, 'PATCH', '/settings', { baselines: {} }, 'baselines');
    const strict = await api('PATCH', '/settings', { body: { strategy: 'deny-overrides' } });
    t.equal(strict.statusCode, 200);
    t.match(json(strict), { strategy: 'deny-overrides', baselines: { codex_local: false } });
    t.equal(strict.headers[CHANGED], '1');
    const restricted = json(await api('GET', `/users/${ada}/effective-permissions`));
    t.same(restricted.granted, []);
    t.match(restricted.permissions.find((p: { key: string }) => p.key === 'codex_local'), { decidedBy: 'deny', deniedBy: [{ roleName: 'Restricted', sources: [{ type: 'direct' }] }] });
    t.equal((await api('PATCH', '/settings', { body: { strategy: 'most-permissive' } })).statusCode, 200);

    t.equal((await api('DELETE', `/users/${ada}/roles/${roleId('Restricted')}`)).statusCode, 204);
    const notAssigned = await api('DELETE', `/users/${ada}/roles/${roleId('Restricted')}`);
    t.equal(notAssigned.statusCode, 404);
    t.match(json(notAssigned).message, /not assigned directly/);

    // The default role applies to a user with no role of their own.
    const bo = await user('bo@example.com');
    const before = json(await api('GET', '/users/bo@example.com/effective-permissions'));
    t.match(before, { usedDefaultRole: true, roles: [{ sources: [{ type: 'default' }] }] });
    const set = await api('PUT', '/default-role', { body: { roleId: roleId('Codex Local') } });
    t.equal(set.statusCode, 200);
    t.same(json(set), { roleId: roleId('Codex Local'), roleName: 'Codex Local' });
    t.same(json(await api('GET', '/default-role')), json(set));
    t.same(json(await api('GET', `/users/${bo}/effective-permissions`)).granted, ['codex_local']);
    await expect400(t, 'PUT', '/default-role', { roleId: 'local' }, 'roleId');
    await expect400(t, 'PUT', '/default-role', {}, 'roleId');
    t.same(json(await api('PUT', '/default-role', { body: { roleId: null } })), { roleId: null, roleName: null });
    t.same(json(await api('GET', `/users/${bo}/effective-permissions`)).granted, [], 'no default role: baselines');

    // Deleting the mapping takes the role away, with an audit trail.
    const mappingId = json(mapping).id;
    t.equal((await api('GET', `/mappings/${mappingId}`)).statusCode, 200);
    const removed = await api('DELETE', `/mappings/${mappingId}`);
    t.equal(removed.statusCode, 204);
    t.equal(removed.headers[CHANGED], '1');
    t.notOk(json(await api('GET', `/users/${ada}/effective-permissions`)).granted.includes('agent_internet'));
    t.equal((await api('GET', `/mappings/${mappingId}`)).statusCode, 404);

    t.equal((await api('GET', '/users/nobody@example.com/effective-permissions')).statusCode, 404);
  });

  t.test('the catalogue, roles and mappings are keyset pages like every list', async (t) => {
    const walk = async (path: string, limit: number) => {
      const seen: Array<Record<string, unknown>> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const res = await api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        t.equal(res.statusCode, 200, `${path} page ${pages + 1}`);
        const page = json(res) as { items: Array<Record<string, unknown>>; nextCursor: string | null };
        t.ok(page.items.length <= limit);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 50);
      return { seen, pages };
    };
    // Roles whose names sort among the seeded ones, in another case, to cross page boundaries.
    for (const name of ['alpha', 'Beta', 'codex zulu', 'DELTA']) await api('POST', '/roles', { body: { name } });
    const roles = await walk('/roles', 2);
    const all = json(await api('GET', '/roles?limit=500')).items as Array<{ id: string; name: string }>;
    t.same(roles.seen.map((r) => r.id), all.map((r) => r.id), 'pages of 2 add up to the whole list, in the same order');
    t.ok(roles.pages >= 4);
    t.same(all.map((r) => r.name.toLowerCase()), all.map((r) => r.name.toLowerCase()).sort(), 'by name, case-insensitive');
    const permissions = await walk('/permissions', 3);
    t.same(permissions.seen.map((p) => p.key), (json(await api('GET', '/permissions?limit=500')).items as Array<{ key: string }>).map((p) => p.key));
    const alpha = all.find((r) => r.name === 'alpha')!;
    for (const group of ['g-one', 'g-two', 'g-three']) await api('POST', '/mappings', { body: { roleId: alpha.id, groupDisplayName: group } });
    const mappings = await walk('/mappings', 2);
    t.same(mappings.seen.map((m) => m.id), (json(await api('GET', '/mappings?limit=500')).items as Array<{ id: string }>).map((m) => m.id));
    t.equal((await walk(`/mappings?roleId=${alpha.id}`, 1)).seen.length, 3, 'a filtered list pages too');
    for (const path of ['/roles', '/permissions', '/mappings']) {
      const bad = await api('GET', `${path}?cursor=garbage`);
      t.equal(bad.statusCode, 400, `${path}: a cursor this API did not issue`);
    }
  });

  t.test('holders pages and the batch', async (t) => {
    const cloud: string[] = [];
    for (let i = 0; i < 7; i++) cloud.push(await user(`cloud${i}@example.com`));
    const outsider = await user('outsider@example.com');
    const gone = await user('gone@example.com');
    await group('codex-cloud-users', [...cloud, gone]);
    await scim('PATCH', `/Users/${gone}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });

    const holders: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api('GET', `/permissions/codex_cloud/holders?limit=3${cursor ? `&cursor=${cursor}` : ''}${pages === 0 ? '&includeTotal=true' : ''}`);
      t.equal(res.statusCode, 200);
      const page = json(res);
      t.equal(page.permission, 'codex_cloud');
      if (pages === 0) t.ok(page.total >= 7, 'total on request');
      holders.push(...page.holders.map((h: { id: string }) => h.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    for (const id of cloud) t.ok(holders.includes(id), 'every member holds it');
    t.notOk(holders.includes(outsider), 'not outside the group');
    t.notOk(holders.includes(gone), 'a deactivated member holds nothing');
    t.same(holders, [...holders].sort(), 'in id order');
    t.equal(new Set(holders).size, holders.length, 'each once');

    await expect400(t, 'GET', '/permissions/codex_cloud/holders?limit=0', undefined, 'limit');
    await expect400(t, 'GET', '/permissions/codex_cloud/holders?cursor=abc', undefined, 'cursor');
    t.equal((await api('GET', '/permissions/no_such_key/holders')).statusCode, 404);

    const missing = '00000000-0000-4000-8000-000000000000';
    const batch = await api('POST', '/effective-permissions:batch', { body: { userIds: [cloud[2], outsider, missing, cloud[0]] } });
    t.equal(batch.statusCode, 200);
    const { results, notFound } = json(batch);
    t.same(results.map((r: { user: { id: string } }) => r.user.id), [cloud[2], outsider, cloud[0]], 'request order');
    t.ok(results[0].granted.includes('codex_cloud'));
    t.notOk(results[1].granted.includes('codex_cloud'));
    t.same(notFound, [missing]);

    await expect400(t, 'POST', '/effective-permissions:batch', { userIds: [] }, 'userIds');
    await expect400(t, 'POST', '/effective-permissions:batch', { userIds: ['ada@example.com'] }, 'userIds.0');
    await expect400(t, 'POST', '/effective-permissions:batch', { users: [] }, 'userIds');
    await expect400(t, 'POST', '/effective-permissions:batch', { userIds: Array.from({ length: 1001 }, () => missing) }, 'userIds');
    const malformed = await api('POST', '/effective-permissions:batch', { body: '{"userIds": [' });
    t.equal(malformed.statusCode, 400);
    t.match(json(malformed).message, /not valid JSON/);
  });
});
