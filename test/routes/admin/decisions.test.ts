import t from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// Decisions for machines: allow or deny per (user, permission) with the reason, the
// same explanation people get, for users named by id, userName, externalId or email — asked with
// a decision token that can do nothing else, or with any admin role.

const ctx = await buildAdminTestApp(t);
const { api, scim } = ctx;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

async function user(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await scim('POST', '/Users', { schemas: [USER], userName, active: true, ...extra });
  if (res.statusCode !== 201) throw new Error(res.body);
  return json(res).id;
}

const ada = await user('ada@example.com', { externalId: 'okta-ada' });
const bob = await user('bob@example.com');
const carol = await user('carol@example.com');
await user('dup1@example.com', { emails: [{ value: 'shared@example.com' }] });
await user('dup2@example.com', { emails: [{ value: 'Shared@example.com' }] });
const cloud = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'codex-cloud-users', members: [{ value: ada }, { value: carol }] });
if (cloud.statusCode !== 201) throw new Error(cloud.body);
await scim('PATCH', `/Users/${carol}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });

const created = await api('POST', '/tokens', { body: { scope: 'decision', description: 'Codex gateway' } });
if (created.statusCode !== 201) throw new Error(`POST /tokens: ${created.statusCode} ${created.body}`);
const decisionToken: string = json(created).token;
const asDecider = { token: decisionToken };

t.test('a decision token: allow or deny per user and permission, with why', async (t) => {
  t.match(decisionToken, /^csd_[A-Za-z0-9_-]{43}$/);
  const res = await api('POST', '/decisions', { as: asDecider, body: { users: ['okta-ada', bob, 'carol@example.com', 'nobody@example.com', 'shared@example.com'], permissions: ['codex_cloud'] } });
  t.equal(res.statusCode, 200, res.body);
  const byUser = new Map(json(res).decisions.map((d: { user: string }) => [d.user, d]));
  t.match(byUser.get('okta-ada'), { userId: ada, permission: 'codex_cloud', allow: true, decidedBy: 'allow', roles: [{ sources: [{ type: 'group', groupDisplayName: 'codex-cloud-users' }] }], reason: String });
  t.match(byUser.get(bob), { userId: bob, allow: false });
  t.match(byUser.get('carol@example.com'), { userId: carol, allow: false, decidedBy: 'inactive', reason: /deactivated/ });
  t.match(byUser.get('nobody@example.com'), { userId: null, allow: false, decidedBy: 'unknown_user' });
  t.match(byUser.get('shared@example.com'), { userId: null, allow: false, decidedBy: 'ambiguous_user', reason: /names 2 users/ });
});

t.test('without a permission list: every permission of the catalogue, in one request for many users', async (t) => {
  const catalogue = json(await api('GET', '/permissions')).items.map((p: { key: string }) => p.key);
  const res = await api('POST', '/decisions', { as: 'compliance', body: { users: [ada, bob] } });
  t.equal(res.statusCode, 200, 'any admin role may ask too');
  const decisions = json(res).decisions as Array<{ userId: string; permission: string; allow: boolean }>;
  t.equal(decisions.length, 2 * catalogue.length);
  t.same(new Set(decisions.map((d) => d.permission)), new Set(catalogue));
  const effective = json(await api('GET', `/users/${ada}/effective-permissions`));
  t.same(decisions.filter((d) => d.userId === ada && d.allow).map((d) => d.permission).sort(), [...effective.granted].sort(), 'the same answer as the explanation for people');
});

t.test('least privilege and bad requests', async (t) => {
  t.equal((await api('GET', '/permissions', { as: asDecider })).statusCode, 403, 'a decision token reads nothing else');
  t.equal((await api('POST', '/tokens', { as: asDecider, body: {} })).statusCode, 403);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${decisionToken}` } })).statusCode, 401, 'nor provisions');
  t.equal((await api('POST', '/decisions', { as: null, body: { users: [ada] } })).statusCode, 401);
  t.equal((await api('POST', '/decisions', { as: asDecider, body: { users: [] } })).statusCode, 400);
  const blank = await api('POST', '/decisions', { as: asDecider, body: { users: [ada, '   '] } });
  t.equal(blank.statusCode, 400, 'a blank ref');
  t.match(json(blank).errors, [{ pointer: '/users/1' }]);
  t.equal((await api('POST', '/decisions', { as: asDecider, body: { users: Array.from({ length: 1001 }, (_, i) => `u${i}`) } })).statusCode, 400);
  const unknown = await api('POST', '/decisions', { as: asDecider, body: { users: [ada], permissions: ['no_such_permission'] } });
  t.equal(unknown.statusCode, 400);
  t.match(json(unknown).detail, /no_such_permission/);
  t.equal((await api('POST', '/decisions', { as: asDecider, body: { users: [ada], extra: true } })).statusCode, 400);
});

t.test('a revoked decision token is refused at once', async (t) => {
  t.equal((await api('DELETE', `/tokens/${json(created).id}`)).statusCode, 204);
  t.equal((await api('POST', '/decisions', { as: asDecider, body: { users: [ada] } })).statusCode, 401);
});

t.test('the access model kept in memory is never stale: a change elsewhere counts at once, a rolled-back one never', async (t) => {
  const { decide } = await import('../../../src/services/decisions.service.js');
  const { db } = ctx.db;
  const ask = async () => json(await api('POST', '/decisions', { as: 'owner', body: { users: [bob], permissions: ['codex_cloud'] } })).decisions[0];
  t.match(await ask(), { allow: false }, 'bob may not use cloud (and the model is now in memory)');
  const { default_role_id: defaultRole } = await db.selectFrom('workspace_access_settings').select('default_role_id').where('workspace_id', '=', ctx.workspaceId).executeTakeFirstOrThrow();
  const allowCloud = (trx: typeof db) =>
    trx
      .insertInto('role_permissions')
      .values({ role_id: defaultRole!, workspace_id: ctx.workspaceId, permission_key: 'codex_cloud', effect: 'allow' })
      .onConflict((oc) => oc.columns(['role_id', 'permission_key']).doUpdateSet({ effect: 'allow' }))
      .execute();

  const rolledBack = db.transaction().execute(async (trx) => {
    await allowCloud(trx as unknown as typeof db);
    const inside = await decide(trx, ctx.workspaceId, { users: [bob], permissions: ['codex_cloud'] });
    t.match(inside.decisions[0], { allow: true, decidedBy: 'allow' }, 'the writing transaction sees its own change');
    throw new Error('roll back');
  });
  await t.rejects(rolledBack, /roll back/);
  t.match(await ask(), { allow: false }, 'the rolled-back model was not remembered');

  // Written straight to the database, as another instance or the CLI would.
  await allowCloud(db);
  t.match(await ask(), { allow: true, decidedBy: 'allow', roles: [{ sources: [{ type: 'default' }] }] }, 'a committed change elsewhere counts on the next request');
  await db.deleteFrom('role_permissions').where('role_id', '=', defaultRole!).where('permission_key', '=', 'codex_cloud').execute();
  t.match(await ask(), { allow: false }, 'and so does undoing it');
});
