import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { Secret } from '../../../src/config/index.js';
import { buildAdminTestApp } from '../admin/helpers.js';

// @dialect-independent: the OAuth exchange and JWT checks; the database only keeps client rows.

// OAuth 2.0 client credentials (RFC 6749 §4.4) for SCIM clients: an owner creates a client, the
// client trades its id and secret at /oauth/token for a short-lived JWT, and SCIM accepts that
// JWT as it accepts a long-lived token — until the client is revoked.

const signingKey = new Secret(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

async function setup(t: { teardown(fn: () => unknown): void; equal: (a: unknown, b: unknown) => void }, ttl = 3600) {
  const ctx = await buildAdminTestApp(t, { oauth: { signingKey, alg: 'ES256', tokenTtlSeconds: ttl, rateLimitPerMinute: 30 } });
  const created = await ctx.api('POST', '/oauth-clients', { body: { description: 'WorkOS' } });
  t.equal(created.statusCode, 201);
  const { clientId, clientSecret } = created.json() as { clientId: string; clientSecret: string };
  const token = (body: string, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: body });
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });
  const scim = (accessToken: string) => ctx.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${accessToken}` } });
  return { ctx, clientId, clientSecret, token, basic, scim };
}

t.test('client credentials by HTTP Basic or in the body buy a JWT that SCIM accepts', async (t) => {
  const { ctx, clientId, clientSecret, token, basic, scim } = await setup(t);
  for (const [how, res] of [
    ['HTTP Basic', await token('grant_type=client_credentials', basic(clientId, clientSecret))],
    ['the form body', await token(`grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}&scope=scim`)],
  ] as const) {
    t.equal(res.statusCode, 200, how);
    t.equal(res.headers['cache-control'], 'no-store', `${how}: not cached`);
    const body = res.json();
    t.match(body, { token_type: 'Bearer', expires_in: 3600, scope: 'scim' }, how);
    const [header, payload] = (body.access_token as string).split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    t.match(header, { alg: 'ES256', typ: 'at+jwt' }, 'signed with the asymmetric key');
    t.match(payload, { sub: clientId, workspace_id: ctx.workspaceId, scope: 'scim' });
    t.equal(payload.exp - payload.iat, 3600, 'one hour');
    t.equal((await scim(body.access_token)).statusCode, 200, `${how}: SCIM accepts the access token`);
  }
  const json = await ctx.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
  t.equal(json.statusCode, 200, 'a JSON body works too');
  const listed = (await ctx.api('GET', '/oauth-clients')).json();
  t.match(listed, [{ id: clientId, description: 'WorkOS', revokedAt: null }]);
  t.ok(listed[0].lastUsedAt, 'last use recorded');
  t.notOk(JSON.stringify(listed).includes(clientSecret), 'no secret listed');
});

t.test('RFC 6749 §5.2 errors; nothing issued', async (t) => {
  const { clientId, clientSecret, token, basic } = await setup(t);
  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ['no grant type', '', basic(clientId, clientSecret), 400, 'invalid_request'],
    ['another grant', 'grant_type=password&username=a&password=b', basic(clientId, clientSecret), 400, 'unsupported_grant_type'],
    ['another scope', 'grant_type=client_credentials&scope=admin', basic(clientId, clientSecret), 400, 'invalid_scope'],
    ['no credentials', 'grant_type=client_credentials', {}, 401, 'invalid_client'],
    ['a wrong secret', 'grant_type=client_credentials', basic(clientId, `csbo_${'A'.repeat(43)}`), 401, 'invalid_client'],
    ['an unknown client', 'grant_type=client_credentials', basic('00000000-0000-4000-8000-000000000000', clientSecret), 401, 'invalid_client'],
    ['both methods', `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`, basic(clientId, clientSecret), 400, 'invalid_request'],
  ];
  for (const [name, body, headers, status, error] of cases) {
    const res = await token(body, headers);
    t.equal(res.statusCode, status, name);
    t.match(res.json(), { error }, name);
    t.notOk('access_token' in res.json(), `${name}: no token`);
  }
  const challenged = await token('grant_type=client_credentials', basic(clientId, 'wrong'));
  t.equal(challenged.headers['www-authenticate'], 'Basic realm="oauth"', 'a failed Basic login is challenged with Basic');
  const broken = await token('{not json', { 'content-type': 'application/json' });
  t.match({ status: broken.statusCode, body: broken.json() }, { status: 400, body: { error: 'invalid_request' } }, 'a body that does not parse');
});

t.test('a revoked client: no new token, and its access tokens stop at once; expired tokens refused', async (t) => {
  const { ctx, clientId, clientSecret, token, basic, scim } = await setup(t);
  const accessToken = (await token('grant_type=client_credentials', basic(clientId, clientSecret))).json().access_token as string;
  t.equal((await scim(accessToken)).statusCode, 200);
  const tampered = accessToken.slice(0, -4) + (accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  t.equal((await scim(tampered)).statusCode, 401, 'a tampered signature is refused');
  t.equal((await ctx.api('DELETE', `/oauth-clients/${clientId}`)).statusCode, 204);
  t.equal((await scim(accessToken)).statusCode, 401, 'revoked: the access token stops working');
  t.equal((await token('grant_type=client_credentials', basic(clientId, clientSecret))).statusCode, 401, 'and buys nothing more');
  t.equal((await ctx.api('DELETE', `/oauth-clients/${clientId}`, { as: 'codex-admin' })).statusCode, 403, 'owners only');
  const events = await ctx.db.db.selectFrom('audit_events').select(['event_type', 'data']).where('target_id', '=', clientId).orderBy('seq').execute();
  t.same(events.map((e) => e.event_type), ['oauth_client.created', 'oauth_client.revoked']);
  t.notOk(JSON.stringify(events).includes(clientSecret), 'no secret in the trail');

  const short = await setup(t, 1);
  const expiring = (await short.token('grant_type=client_credentials', short.basic(short.clientId, short.clientSecret))).json().access_token as string;
  await new Promise((resolve) => setTimeout(resolve, 2100));
  t.equal((await short.scim(expiring)).statusCode, 401, 'an expired access token is refused');
});

t.test('the token endpoint is rate limited per client address', async (t) => {
  const { token } = await setup(t);
  const statuses = [];
  for (let i = 0; i < 32; i++) statuses.push((await token('grant_type=client_credentials')).statusCode);
  t.equal(statuses.filter((s) => s === 429).length, 2, 'the 31st guess onwards is refused');
});
