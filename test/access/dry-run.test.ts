import t from 'tap';
import { buildAdminTestApp, json, type AdminTestApp } from '../routes/admin/helpers.js';

// Dry runs: ?dryRun=true on the access and policy writes, and POST /simulate/scim
// for what an IdP push would do. Each answers what would change (per user, permissions gained and
// lost, the policy before and after, totals) and leaves no trace: not the change, not an audit
// event, not a webhook delivery. Then the real write changes exactly what the dry run said.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CHANGED = 'x-access-changed-users';
const POLICY_CHANGED = 'x-policy-changed-users';
const TOML = 'allowed_sandbox_modes = ["read-only"]\n';

/** Everything a dry run must leave as it was: effective access and policy of all, the trail, the outbox. */
async function traces(ctx: AdminTestApp) {
  const db = ctx.db.db;
  const [access, policies, events, deliveries, mappings, users] = await Promise.all([
    db.selectFrom('user_access').selectAll().orderBy('user_id').execute(),
    db.selectFrom('user_policy').select(['user_id', 'policy_id', 'policy_version']).orderBy('user_id').execute(),
    db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('role_mappings').select('id').execute(),
    db.selectFrom('users').select(['id', 'active']).orderBy('id').execute(),
  ]);
  return JSON.parse(JSON.stringify({ access, policies, events: Number(events.n), deliveries: Number(deliveries.n), mappings, users }));
}

async function effective(ctx: AdminTestApp, userId: string): Promise<string[]> {
  const res = await ctx.api('GET', `/users/${userId}/effective-permissions`);
  return [...(json(res).granted as string[])].sort();
}

t.test('dry runs of access, policy and SCIM writes', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  // A webhook subscribed to everything: a dry run must not queue a delivery.
  t.equal((await api('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['*'] } })).statusCode, 201);

  const user = async (userName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName })).id as string;
  const alice = await user('alice@example.com');
  const bob = await user('bob@example.com');
  const carol = await user('carol@example.com');
  const platform = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'platform-team', members: [{ value: alice }, { value: bob }] })).id as string;
  const role = json(await api('POST', '/roles', { body: { name: 'cloud-user', permissions: { codex_cloud: 'allow' } } })).id as string;
  const before = await traces(ctx);
  const carolBefore = await effective(ctx, carol);

  t.test('a mapping: who would gain what, and nothing written', async (t) => {
    const res = await api('POST', '/mappings?dryRun=true', { body: { roleId: role, groupId: platform } });
    t.equal(res.statusCode, 200, res.body);
    const sim = json(res);
    t.match(sim, {
      dryRun: true,
      totals: { users: 2, accessChangedUsers: 2, policyChangedUsers: 0, permissions: [{ key: 'codex_cloud', gained: 2, lost: 0 }], policies: [] },
      events: [
        { type: 'mapping.created', count: 1 },
        { type: 'access.changed', count: 2 },
      ],
      nextCursor: null,
    });
    t.same(
      sim.users.map((u: { userName: string; gained: string[]; lost: string[] }) => [u.userName, u.gained, u.lost]),
      [
        ['alice@example.com', ['codex_cloud'], []],
        ['bob@example.com', ['codex_cloud'], []],
      ],
      'by userName, with what each gains',
    );
    t.notOk(sim.users[0].permissionsBefore.includes('codex_cloud'));
    t.ok(sim.users[0].permissionsAfter.includes('codex_cloud'));
    t.same(await traces(ctx), before, 'no mapping, no recompute, no audit event, no webhook delivery');

    const real = await api('POST', '/mappings', { body: { roleId: role, groupId: platform } });
    t.equal(real.statusCode, 201);
    t.equal(real.headers[CHANGED], String(sim.totals.accessChangedUsers), 'the real write reports what the dry run said');
    t.same(await effective(ctx, alice), [...sim.users[0].permissionsAfter].sort(), "alice's access is what the dry run said it would be");
    t.same(await effective(ctx, carol), carolBefore, 'carol, not in the group, unchanged');
  });

  t.test('pages of affected users', async (t) => {
    const first = json(await api('PATCH', `/roles/${role}?dryRun=true&limit=1`, { body: { permissions: { codex_cloud: 'inherit' } } }));
    t.equal(first.totals.accessChangedUsers, 2);
    t.same(first.users.map((u: { userName: string }) => u.userName), ['alice@example.com']);
    t.type(first.nextCursor, 'string');
    const second = json(await api('PATCH', `/roles/${role}?dryRun=true&limit=1&cursor=${first.nextCursor}`, { body: { permissions: { codex_cloud: 'inherit' } } }));
    t.same(second.users.map((u: { userName: string; lost: string[] }) => [u.userName, u.lost]), [['bob@example.com', ['codex_cloud']]]);
    t.equal(second.nextCursor, null);
    const bad = await api('PATCH', `/roles/${role}?dryRun=true&cursor=nonsense`, { body: { permissions: { codex_cloud: 'inherit' } } });
    t.equal(bad.statusCode, 400);
    t.match(json(bad), { errors: [{ pointer: '/cursor' }] });
    t.ok((await effective(ctx, alice)).includes('codex_cloud'), 'the role still allows it');
  });

  t.test('a write that changes nothing, and a write that is refused', async (t) => {
    const noop = await api('PATCH', `/roles/${role}?dryRun=true`, { body: { permissions: { codex_cloud: 'allow' } } });
    t.equal(noop.statusCode, 200, noop.body);
    t.match(json(noop), { dryRun: true, totals: { users: 0, accessChangedUsers: 0 }, users: [] });
    t.equal((await api('DELETE', '/roles/00000000-0000-4000-8000-000000000009?dryRun=true')).statusCode, 404, 'refused as the real write would be');
    t.equal((await api('POST', '/mappings?dryRun=true', { body: { roleId: role } })).statusCode, 400);
    t.equal((await api('POST', '/mappings?dryRun=true', { body: { roleId: role, groupId: platform }, as: 'compliance' })).statusCode, 403, 'compliance cannot write, so cannot dry-run a write');
  });

  t.test('the default role, the strategy, direct roles', async (t) => {
    const snapshot = await traces(ctx);
    const direct = json(await api('PUT', `/users/${carol}/roles/${role}?dryRun=true`));
    t.match(direct, { totals: { accessChangedUsers: 1, permissions: [{ key: 'codex_cloud', gained: 1 }] }, users: [{ userId: carol, gained: ['codex_cloud'] }] });
    const everyone = json(await api('PUT', `/default-role?dryRun=true`, { body: { roleId: role } }));
    t.match(everyone.totals.permissions, [{ key: 'codex_cloud', gained: 1, lost: 0 }], 'only carol lacks it');
    t.same(await traces(ctx), snapshot);
  });

  t.test('policies: who would get which policy', async (t) => {
    const created = await api('POST', '/policies', { body: { name: 'Cloud', toml: TOML } });
    t.equal(created.statusCode, 201, created.body);
    const policyId = json(created).policy.id as string;
    const snapshot = await traces(ctx);
    const res = await api('PUT', '/policy-fallback?dryRun=true', { body: { policyId } });
    t.equal(res.statusCode, 200, res.body);
    const sim = json(res);
    t.match(sim.totals, { policyChangedUsers: 3, accessChangedUsers: 0, policies: [{ policyId, name: 'Cloud', gained: 3, lost: 0 }] });
    t.match(sim.users[0], { policyBefore: null, policyAfter: { policyId, name: 'Cloud', version: 1, source: 'fallback' }, policyChanged: true, gained: [], lost: [] });
    t.same(await traces(ctx), snapshot, 'nobody has the policy yet');
    const real = await api('PUT', '/policy-fallback', { body: { policyId } });
    t.equal(real.headers[POLICY_CHANGED], '3');
  });

  t.test('a SCIM push, before the IdP sends it', async (t) => {
    const snapshot = await traces(ctx);
    const simulate = (body: unknown, query = '') => api('POST', `/simulate/scim${query}`, { body });
    const removal = await simulate({ method: 'PATCH', path: `/Groups/${platform}`, body: { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${bob}"]` }] } });
    t.equal(removal.statusCode, 200, removal.body);
    t.match(json(removal), { totals: { accessChangedUsers: 1, permissions: [{ key: 'codex_cloud', gained: 0, lost: 1 }] }, users: [{ userId: bob, lost: ['codex_cloud'] }] });

    const deletion = json(await simulate({ method: 'DELETE', path: `/scim/v2/Users/${alice}` }));
    t.match(deletion, { users: [{ userId: alice, userName: 'alice@example.com', permissionsAfter: [], policyAfter: null }] }, 'a deleted user is named and loses everything');

    const created = json(await simulate({ method: 'POST', path: '/Users', body: { schemas: [USER], userName: 'dave@example.com' } }));
    t.match(created, { totals: { users: 1 }, users: [{ userName: 'dave@example.com', permissionsBefore: [], policyBefore: null, policyAfter: { name: 'Cloud' } }] });
    t.same(await traces(ctx), snapshot, 'bob still in the group, alice still there, no dave');

    t.equal((await simulate({ method: 'PATCH', path: '/Groups/00000000-0000-4000-8000-000000000009', body: { schemas: [PATCH], Operations: [] } })).statusCode, 404);
    const invalid = await simulate({ method: 'POST', path: '/Users', body: { schemas: [USER] } });
    t.equal(invalid.statusCode, 400, 'the SCIM error, as the SCIM endpoint would answer it');
    t.match(json(invalid).detail, /userName/);
    t.equal((await simulate({ method: 'POST', path: '/Tokens' })).statusCode, 400);
    t.equal((await simulate({ method: 'DELETE', path: '/Users' })).statusCode, 400);
  });

  t.test('the OpenAPI document describes the dry run', async (t) => {
    const doc = json(await ctx.app.inject({ method: 'GET', url: '/openapi.json' }));
    t.ok(doc.components.schemas.Simulation, 'Simulation schema');
    const params = doc.paths['/api/v1/mappings'].post.parameters.map((p: { name: string }) => p.name);
    t.ok(params.includes('dryRun'));
    t.ok(doc.paths['/api/v1/simulate/scim'].post);
  });
});
