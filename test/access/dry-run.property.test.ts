import fc from 'fast-check';
import t from 'tap';
import { scaled } from '../helpers/db.js';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';

// Property: whatever the write, its dry run says exactly what the real write then
// does. For random sequences of access, policy and SCIM writes, each is first dry-run, then made;
// the users whose granted permissions changed, their permissions after, the users whose
// effective policy changed and their policy after are compared with the stored state before and
// after the real write, and with what the real write reports in its headers. A dry run the real
// write would refuse is refused with the same status, and then nothing changes.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP_NAMES = ['codex-admins', 'codex-local-users', 'codex-cloud-users', 'codex-restricted', 'engineering'];
const PERMISSIONS = ['codex_local', 'codex_cloud', 'codex_admin', 'code_review'];
const EFFECTS = ['allow', 'deny', 'inherit'] as const;

const ctx = await buildAdminTestApp(t);
const { api, scim } = ctx;
const users: string[] = [];
for (let i = 0; i < 8; i++) users.push(json(await scim('POST', '/Users', { schemas: [USER], userName: `user${i}@example.com` })).id);
const groups: string[] = [];
for (const [i, displayName] of GROUP_NAMES.entries()) {
  groups.push(json(await scim('POST', '/Groups', { schemas: [GROUP], displayName, members: users.filter((_, u) => (u + i) % 3 === 0).map((value) => ({ value })) })).id);
}
const roles: Array<{ id: string; name: string }> = json(await api('GET', '/roles')).items;
const policyIds: string[] = [];
for (const name of ['Strict', 'Open']) {
  const toml = name === 'Strict' ? 'allowed_sandbox_modes = ["read-only"]\n' : 'allowed_sandbox_modes = ["read-only", "workspace-write"]\n';
  policyIds.push(json(await api('POST', '/policies', { body: { name, toml } })).policy.id);
}

type Write = { admin: { method: 'PUT' | 'PATCH' | 'POST' | 'DELETE'; url: string; body?: unknown } } | { scim: { method: 'PATCH' | 'PUT' | 'POST' | 'DELETE'; path: string; body?: unknown } };

const pick = <T>(list: readonly T[]) => fc.nat({ max: list.length - 1 }).map((i) => list[i]!);
const someUsers = fc.subarray(users, { maxLength: 4 });

const writeArb: fc.Arbitrary<() => Promise<Write>> = fc.oneof(
  fc.record({ group: pick(groups), members: someUsers, op: fc.constantFrom('add', 'remove') }).map(({ group, members, op }) => async (): Promise<Write> => ({
    scim: { method: 'PATCH', path: `/Groups/${group}`, body: { schemas: [PATCH], Operations: [{ op, path: 'members', value: members.map((value) => ({ value })) }] } },
  })),
  fc.record({ group: pick(groups), members: someUsers }).map(({ group, members }) => async (): Promise<Write> => {
    const name = json(await scim('GET', `/Groups/${group}?attributes=displayName`)).displayName;
    return { scim: { method: 'PUT', path: `/Groups/${group}`, body: { schemas: [GROUP], displayName: name, members: members.map((value) => ({ value })) } } };
  }),
  fc.record({ user: pick(users), active: fc.boolean() }).map(({ user, active }) => async (): Promise<Write> => ({
    scim: { method: 'PATCH', path: `/Users/${user}`, body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active } }] } },
  })),
  fc.record({ role: pick(roles), key: pick(PERMISSIONS), effect: pick(EFFECTS) }).map(({ role, key, effect }) => async (): Promise<Write> => ({
    admin: { method: 'PATCH', url: `/roles/${role.id}`, body: { permissions: { [key]: effect } } },
  })),
  fc.record({ key: pick(PERMISSIONS), baseline: fc.boolean() }).map(({ key, baseline }) => async (): Promise<Write> => ({ admin: { method: 'PATCH', url: `/permissions/${key}`, body: { baseline } } })),
  fc.constantFrom('most-permissive', 'deny-overrides').map((strategy) => async (): Promise<Write> => ({ admin: { method: 'PATCH', url: '/settings', body: { strategy } } })),
  fc.record({ user: pick(users), role: pick(roles), assign: fc.boolean() }).map(({ user, role, assign }) => async (): Promise<Write> => ({
    admin: { method: assign ? 'PUT' : 'DELETE', url: `/users/${user}/roles/${role.id}` },
  })),
  fc.record({ role: pick(roles), group: pick(groups) }).map(({ role, group }) => async (): Promise<Write> => ({ admin: { method: 'POST', url: '/mappings', body: { roleId: role.id, groupId: group } } })),
  fc.record({ rules: fc.array(fc.record({ groupId: pick(groups), policyId: pick(policyIds) }), { maxLength: 3 }) }).map(({ rules }) => async (): Promise<Write> => ({
    admin: { method: 'PUT', url: '/policy-rules', body: { rules: rules.filter((r, i) => rules.findIndex((o) => o.groupId === r.groupId) === i) } },
  })),
  fc.option(pick(policyIds)).map((policyId) => async (): Promise<Write> => ({ admin: policyId === null ? { method: 'DELETE', url: '/policy-fallback' } : { method: 'PUT', url: '/policy-fallback', body: { policyId } } })),
);

interface Stored {
  granted: Map<string, string>;
  roles: Map<string, string>;
  policy: Map<string, string>;
}

async function stored(): Promise<Stored> {
  const [access, policy] = await Promise.all([
    ctx.db.db.selectFrom('user_access').select(['user_id', 'granted', 'role_ids']).where('workspace_id', '=', ctx.workspaceId).execute(),
    ctx.db.db.selectFrom('user_policy').select(['user_id', 'policy_id', 'policy_version']).where('workspace_id', '=', ctx.workspaceId).execute(),
  ]);
  return {
    granted: new Map(access.map((r) => [r.user_id, [...r.granted].sort().join(',')])),
    roles: new Map(access.map((r) => [r.user_id, r.role_ids.join(',')])),
    policy: new Map(policy.map((r) => [r.user_id, `${r.policy_id}@${r.policy_version}`])),
  };
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const ids = new Set([...before.keys(), ...after.keys()]);
  return [...ids].filter((id) => (before.get(id) ?? '') !== (after.get(id) ?? '')).sort();
}

async function send(write: Write, dryRun: boolean) {
  if ('scim' in write) return dryRun ? api('POST', '/simulate/scim?limit=1000', { body: write.scim }) : scim(write.scim.method, write.scim.path, write.scim.body);
  const { method, url, body } = write.admin;
  // The rules need the current version, as an admin editing them would have it.
  const ifMatch = url === '/policy-rules' ? (await api('GET', '/policy-rules')).headers.etag : undefined;
  return ctx.app.inject({
    method,
    url: `/api/v1${url}${dryRun ? '?dryRun=true&limit=1000' : ''}`,
    headers: { authorization: `Bearer ${ctx.tokens.owner}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(ifMatch ? { 'if-match': String(ifMatch) } : {}) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface SimulatedUser {
  userId: string;
  permissionsBefore: string[];
  permissionsAfter: string[];
  rolesBefore: string[];
  rolesAfter: string[];
  policyAfter: { policyId: string; version: number } | null;
  policyChanged: boolean;
}

t.test('a dry run says what the real write then does', async (t) => {
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(writeArb, { minLength: 1, maxLength: 6 }), async (makes) => {
      for (const make of makes) {
        const write = await make();
        const before = await stored();
        const dry = await send(write, true);
        const afterDry = await stored();
        if (changed(before.granted, afterDry.granted).length + changed(before.policy, afterDry.policy).length > 0) throw new Error('the dry run changed stored state');
        const real = await send(write, false);
        const after = await stored();
        const label = JSON.stringify(write);
        if (dry.statusCode !== 200) {
          if (real.statusCode !== dry.statusCode) throw new Error(`${label}: dry run ${dry.statusCode} ${dry.body}, real write ${real.statusCode}`);
          if (changed(before.granted, after.granted).length > 0) throw new Error(`${label}: a refused write changed access`);
          continue;
        }
        if (real.statusCode >= 300) throw new Error(`${label}: dry run 200, real write ${real.statusCode} ${real.body}`);
        const sim = JSON.parse(dry.body) as { users: SimulatedUser[]; totals: { accessChangedUsers: number; policyChangedUsers: number }; nextCursor: string | null };
        const accessUsers = sim.users.filter((u) => u.permissionsBefore.join(',') !== u.permissionsAfter.join(','));
        const policyUsers = sim.users.filter((u) => u.policyChanged);
        const expectAccess = changed(before.granted, after.granted);
        const expectPolicy = changed(before.policy, after.policy);
        const ids = (list: SimulatedUser[]) => list.map((u) => u.userId).sort();
        if (JSON.stringify(ids(accessUsers)) !== JSON.stringify(expectAccess)) throw new Error(`${label}: access of ${ids(accessUsers)} predicted, ${expectAccess} changed`);
        if (JSON.stringify(ids(policyUsers)) !== JSON.stringify(expectPolicy)) throw new Error(`${label}: policy of ${ids(policyUsers)} predicted, ${expectPolicy} changed`);
        const roleUsers = sim.users.filter((u) => u.rolesBefore.join(',') !== u.rolesAfter.join(','));
        const expectRoles = changed(before.roles, after.roles);
        if (JSON.stringify(ids(roleUsers)) !== JSON.stringify(expectRoles)) throw new Error(`${label}: roles of ${ids(roleUsers)} predicted, ${expectRoles} changed`);
        for (const u of sim.users) if (u.rolesAfter.join(',') !== (after.roles.get(u.userId) ?? '')) throw new Error(`${label}: ${u.userId} predicted roles ${u.rolesAfter}`);
        // Every affected user's permissions after, those whose policy alone changes included.
        for (const u of sim.users) if ([...u.permissionsAfter].sort().join(',') !== (after.granted.get(u.userId) ?? '')) throw new Error(`${label}: ${u.userId} predicted ${u.permissionsAfter}`);
        for (const u of policyUsers) {
          const predicted = u.policyAfter ? `${u.policyAfter.policyId}@${u.policyAfter.version}` : '';
          if (predicted !== (after.policy.get(u.userId) ?? '')) throw new Error(`${label}: ${u.userId} predicted policy ${predicted}`);
        }
        if (sim.totals.accessChangedUsers !== expectAccess.length || sim.totals.policyChangedUsers !== expectPolicy.length) throw new Error(`${label}: totals ${JSON.stringify(sim.totals)}`);
        const reported = real.headers['x-access-changed-users'];
        if (reported !== undefined && Number(reported) !== expectAccess.length) throw new Error(`${label}: the real write reported ${reported}`);
        compared++;
      }
    }),
    { numRuns: scaled(25, 8) },
  );
  t.ok(compared > 0, `${compared} writes compared with their dry runs`);
});
