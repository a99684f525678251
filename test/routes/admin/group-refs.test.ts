import t from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// Groups are looked up as admins name them (id, externalId or displayName), like users are by
// id, userName or email; and a group nobody ever provisioned is 404 on every group endpoint.

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

t.test('group references', async (t) => {
  const { api, scim } = await buildAdminTestApp(t);
  const user = json(await scim('POST', '/Users', { schemas: [USER], userName: 'ref@example.com' })).id;
  const group = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Codex Admins', externalId: 'okta-00g1', members: [{ value: user }] })).id;

  for (const ref of [group, 'okta-00g1', 'codex admins', 'Codex Admins']) {
    const path = encodeURIComponent(ref);
    t.equal(json(await api('GET', `/groups/${path}`)).id, group, `GET /groups/${ref}`);
    t.equal(json(await api('GET', `/groups/${path}/members`)).items[0].id, user, `members by ${ref}`);
    t.equal(json(await api('GET', `/groups/${path}/policy`)).group.id, group, `policy by ${ref}`);
    t.equal(json(await api('GET', `/groups/${path}/history`)).groupId, group, `history by ${ref}`);
  }

  const unknown = '00000000-0000-4000-8000-000000000009';
  for (const path of [`/groups/${unknown}`, `/groups/${unknown}/members`, `/groups/${unknown}/policy`, `/groups/${unknown}/history`, `/groups/${unknown}/members/as-of?at=2026-01-01T00:00:00Z`, '/groups/nobody', '/groups/nobody/history']) {
    t.equal((await api('GET', path)).statusCode, 404, path);
  }

  t.equal((await scim('DELETE', `/Groups/${group}`)).statusCode, 204);
  const history = json(await api('GET', `/groups/${group}/history`));
  t.ok(history.items.some((e: { type: string }) => e.type === 'group.deleted'), 'a deleted group keeps its history, by id');
  t.equal((await api('GET', '/groups/okta-00g1')).statusCode, 404, 'names resolve current groups only');
});
