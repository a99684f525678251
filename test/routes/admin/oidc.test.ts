import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import t from 'tap';
import type { OidcConfig } from '../../../src/config/index.js';
import { buildAdminTestApp, json } from './helpers.js';

// @dialect-independent: token verification and role mapping; the user lookup is the statement every admin test runs on both.

// Admin tokens from the company's OpenID Connect issuer: verified against its JWKS (served here by
// a tiny HTTP server on 127.0.0.1), then matched to a provisioned SCIM user whose IdP groups
// decide the admin role.

const ISSUER = 'https://idp.example.test/oauth2/default';
const AUDIENCE = 'api://codex-scim-bridge';
/** The client id: the audience of ID tokens, which Codex clients may send to /me instead. */
const CLIENT_ID = '0oa-codex-cli';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function jwksServer(t: { teardown(fn: () => unknown): void }, keys: JWK[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url !== '/keys') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`, hits: () => hits };
}

t.test('OIDC admin tokens', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = await jwksServer(t, [jwk]);
  const oidc: OidcConfig = {
    issuer: ISSUER,
    audiences: [AUDIENCE, CLIENT_ID],
    jwksUrl: jwks.url,
    workspace: 'test',
    subjectClaim: 'sub',
    emailClaim: 'email',
    ownerGroups: ['Bridge-Owners'],
    codexAdminGroups: ['codex-admins'],
    complianceGroups: ['security-compliance'],
  };
  const ctx = await buildAdminTestApp(t, { oidc });
  const { api, scim } = ctx;

  const idToken = (claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' })
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(options.key ?? privateKey);

  // Okta-style provisioning: externalId is the IdP's user id, which is the token's `sub`.
  const provision = async (userName: string, externalId: string, extra: Record<string, unknown> = {}) => {
    const res = await scim('POST', '/Users', { schemas: [USER], userName, externalId, emails: [{ value: userName, type: 'work', primary: true }], ...extra });
    t.equal(res.statusCode, 201, `provision ${userName}`);
    return json(res).id as string;
  };
  const group = async (displayName: string, members: string[]) => {
    const res = await scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
    t.equal(res.statusCode, 201, `group ${displayName}`);
    return json(res).id as string;
  };

  const alice = await provision('alice@example.com', '00u-alice');
  const bob = await provision('bob@example.com', '00u-bob');
  const carol = await provision('carol@example.com', '00u-carol');
  const dave = await provision('dave@example.com', '00u-dave');
  const erin = await provision('erin@example.com', '00u-erin', { emails: [{ value: 'erin.alias@example.com', type: 'work' }] });
  const admins = await group('codex-admins', [alice, dave]);
  await group('bridge-owners', [bob]);
  await group('security-compliance', [carol, erin]);
  const localUsers = await group('codex-local-users', [alice, bob, carol, dave, erin]);
  t.equal((await scim('PATCH', `/Users/${dave}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 200);

  t.test('IdP group membership decides the admin role', async (t) => {
    const asAlice = await idToken({ sub: '00u-alice' });
    const read = await api('GET', '/users', { as: { token: asAlice } });
    t.equal(read.statusCode, 200, 'alice (codex-admins) reads');
    t.equal((await api('POST', '/roles', { body: { name: 'Made by Alice' }, as: { token: asAlice } })).statusCode, 201, 'alice manages roles');
    t.equal((await api('PATCH', '/settings', { body: { strategy: 'deny-overrides' }, as: { token: asAlice } })).statusCode, 403, 'but is not an owner');

    const asBob = await idToken({ sub: '00u-bob' });
    t.equal((await api('PATCH', '/settings', { body: { strategy: 'most-permissive' }, as: { token: asBob } })).statusCode, 200, 'bob (Bridge-Owners, case-insensitive) is owner');

    const asCarol = await idToken({ sub: '00u-carol' });
    t.equal((await api('GET', `/users/${alice}/effective-permissions`, { as: { token: asCarol } })).statusCode, 200, 'carol (compliance) reads');
    const denied = await api('POST', '/roles', { body: { name: 'Made by Carol' }, as: { token: asCarol } });
    t.equal(denied.statusCode, 403, 'carol cannot write');
    t.match(json(denied).message, /The compliance role may not POST/);
  });

  t.test('matched by email when the subject is not an externalId', async (t) => {
    const byEmail = await idToken({ sub: 'pairwise-subject-xyz', email: 'erin.alias@example.com' });
    t.equal((await api('GET', '/groups', { as: { token: byEmail } })).statusCode, 200, 'matched by a secondary email');
    const byUserName = await idToken({ sub: 'pairwise-subject-abc', email: 'ALICE@example.com' });
    t.equal((await api('POST', '/roles', { body: { name: 'Via email' }, as: { token: byUserName } })).statusCode, 201, 'userName match is case-insensitive');
    const unverified = await idToken({ sub: 'pairwise-subject-abc', email: 'alice@example.com', email_verified: false });
    t.equal((await api('GET', '/groups', { as: { token: unverified } })).statusCode, 403, 'an unverified email is not used');
  });

  t.test('valid IdP tokens that grant nothing: 403', async (t) => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['not provisioned', { sub: '00u-nobody', email: 'nobody@example.com' }, /names no user provisioned/],
      ['deactivated', { sub: '00u-dave' }, /dave@example.com is deactivated/],
    ];
    const frank = await provision('frank@example.com', '00u-frank');
    cases.push(['in no admin group', { sub: '00u-frank' }, /frank@example.com is in none of the IdP groups/]);
    for (const [name, claims, message] of cases) {
      const res = await api('GET', '/users', { as: { token: await idToken(claims) } });
      t.equal(res.statusCode, 403, name);
      t.match(json(res), { statusCode: 403, error: 'Forbidden', message }, name);
    }
    t.ok(frank);
  });

  t.test('/me: what applies to the caller, for any active provisioned user', async (t) => {
    const LOCAL_TOML = '# Local users\nallowed_sandbox_modes = ["read-only", "workspace-write"]\n';
    const FALLBACK_TOML = '# Everyone else\nallowed_sandbox_modes = ["read-only"]\n';
    const me = async (url: string, token: string, headers: Record<string, string> = {}) =>
      ctx.app.inject({ method: 'GET', url: `/api/v1/me/${url}`, headers: { authorization: `Bearer ${token}`, ...headers } });
    const grace = await provision('grace@example.com', '00u-grace');
    const asGrace = await idToken({ sub: '00u-grace' });

    const none = await me('requirements.toml', asGrace);
    t.equal(none.statusCode, 204, 'no policy applies yet');
    t.equal(none.headers.etag, '"none"');
    t.equal((await me('requirements.toml', asGrace, { 'if-none-match': '"none"' })).statusCode, 304, '"still none" is a 304 too');

    const local = json(await api('POST', '/policies', { body: { name: 'Local users', toml: LOCAL_TOML } })).policy.id as string;
    const fallback = json(await api('POST', '/policies', { body: { name: 'Everyone else', toml: FALLBACK_TOML } })).policy.id as string;
    const rules = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/policy-rules',
      headers: { authorization: `Bearer ${ctx.tokens.owner}`, 'content-type': 'application/json', 'if-match': '"0"' },
      payload: { rules: [{ groupId: localUsers, policyId: local }] },
    });
    t.equal(rules.statusCode, 200, rules.body);
    t.equal((await api('PUT', '/policy-fallback', { body: { policyId: fallback } })).statusCode, 200);

    const got = await me('requirements.toml', asGrace);
    t.equal(got.statusCode, 200, 'grace is in no rule group: the fallback');
    t.equal(got.body, FALLBACK_TOML, 'exactly the saved text');
    t.match(got.headers['content-type'], /^application\/toml/);
    t.match(got.headers.etag, /^"sha256:[0-9a-f]{64}"$/);
    t.match(got.headers['cache-control'], /private/);
    t.equal(got.headers['x-policy-id'], fallback);
    const unchanged = await me('requirements.toml', asGrace, { 'if-none-match': `W/${got.headers.etag}, "other"` });
    t.equal(unchanged.statusCode, 304, 'If-None-Match with the current tag (weak, in a list)');
    t.equal(unchanged.body, '', 'a 304 carries no body');

    // An ID token (audience: the client id) works as well as an access token.
    const asErinId = await idToken({ sub: '00u-erin' }, { aud: CLIENT_ID });
    const erins = await me('requirements.toml', asErinId);
    t.equal(erins.statusCode, 200, erins.body);
    t.equal(erins.body, LOCAL_TOML, 'erin is in codex-local-users: the rule decides');

    t.equal((await api('PATCH', `/policies/${fallback}`, { body: { toml: `${FALLBACK_TOML}allowed_approval_policies = ["untrusted"]\n` } })).statusCode, 200);
    const edited = await me('requirements.toml', asGrace, { 'if-none-match': got.headers.etag as string });
    t.equal(edited.statusCode, 200, 'an edit changes the document and its tag');
    t.not(edited.headers.etag, got.headers.etag);

    const access = await me('access', asGrace);
    t.equal(access.statusCode, 200, access.body);
    t.match(json(access), {
      access: { user: { id: grace, userName: 'grace@example.com' }, usedDefaultRole: true, permissions: Array },
      policy: { source: 'fallback', policy: { id: fallback, version: 2 }, reason: String },
    });
    t.equal(access.headers['cache-control'], 'private, no-store');

    const adminRoute = await api('GET', '/users', { as: { token: asGrace } });
    t.equal(adminRoute.statusCode, 403, 'a user without an admin group calls /me and nothing else');
    t.match(json(adminRoute).message, /grace@example.com is in none of the IdP groups/);

    for (const [name, claims] of [['deactivated', { sub: '00u-dave' }], ['not provisioned', { sub: '00u-nobody' }]] as const) {
      const denied = await me('requirements.toml', await idToken(claims));
      t.equal(denied.statusCode, 403, name);
      t.match(json(denied).message, /Contact your administrator for access\./, `${name}: told whom to ask`);
    }
    const bridgeToken = await me('access', ctx.tokens.owner);
    t.equal(bridgeToken.statusCode, 403, "a bridge admin token has no user of its own");
    t.match(json(bridgeToken).message, /own IdP token/);
    t.equal((await me('access', 'not-a-jwt')).statusCode, 401);
  });

  t.test('review campaigns: IdP users are named reviewers, and do not review themselves', async (t) => {
    const [asAlice, asBob, asCarol] = await Promise.all([idToken({ sub: '00u-alice' }), idToken({ sub: '00u-bob' }), idToken({ sub: '00u-carol' })]);
    const dueAt = new Date(Date.now() + 86_400_000).toISOString();
    const heidi = await provision('heidi@example.com', '00u-heidi');
    t.equal((await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: heidi }] }] })).statusCode, 200);
    const opened = await api('POST', '/reviews/campaigns', { body: { name: 'Admins', permission: 'codex_admin', reviewers: ['ALICE@example.com'], dueAt }, as: { token: asCarol } });
    t.equal(opened.statusCode, 201, opened.body);
    const campaign = json(opened);
    t.same(campaign.reviewers, [{ principal: `user:${alice}`, display: 'alice@example.com' }]);
    t.match(campaign.openedBy, { type: 'admin', display: 'carol@example.com' });
    const decide = (who: string, token: string) => api('PUT', `/reviews/campaigns/${campaign.id}/decisions/${who}`, { body: { decision: 'keep' }, as: { token } });
    t.same(campaign.items.map((i: { userName: string }) => i.userName), ['alice@example.com', 'heidi@example.com'], 'dave, deactivated, holds nothing');
    const onHeidi = await decide(heidi, asAlice);
    t.equal(onHeidi.statusCode, 200, onHeidi.body);
    t.same(json(onHeidi).decidedBy, { principal: `user:${alice}`, display: 'alice@example.com' });
    const own = await decide(alice, asAlice);
    t.equal(own.statusCode, 403);
    t.match(json(own).detail, /own access/);
    t.equal((await decide(heidi, asBob)).statusCode, 403, 'an owner not named does not decide');
    t.equal(json(await api('GET', '/reviews/campaigns', { as: { token: asAlice } })).items.length, 1, 'the reviewer sees the campaign');
  });

  t.test('leaving codex-admins in the IdP takes the role away on the next request', async (t) => {
    const token = await idToken({ sub: '00u-alice' });
    t.equal((await api('GET', '/roles', { as: { token } })).statusCode, 200);
    const removed = await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${alice}"]` }] });
    t.ok([200, 204].includes(removed.statusCode));
    t.equal((await api('GET', '/roles', { as: { token } })).statusCode, 403, 'same token, no longer an admin');
  });

  t.test('bad IdP tokens: 401', async (t) => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const cases: Array<[string, Promise<string> | string, RegExp]> = [
      ['wrong audience', idToken({ sub: '00u-bob' }, { aud: 'api://something-else' }), /audience is not accepted/],
      ['unknown issuer', idToken({ sub: '00u-bob' }, { iss: 'https://idp.example.test/other' }), /issuer is not accepted/],
      ['expired', idToken({ sub: '00u-bob' }, { exp: past }), /expired/],
      ['signed by a key the issuer does not publish', idToken({ sub: '00u-bob' }, { key: stranger.privateKey, kid: 'k2' }), /key the issuer does not publish/],
      ['signed by another key with a published kid', idToken({ sub: '00u-bob' }, { key: stranger.privateKey }), /signature is not valid/],
      [
        'HMAC with the issuer name',
        new SignJWT({ sub: '00u-bob' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(JSON.stringify(jwk))),
        /algorithm/,
      ],
    ];
    for (const [name, token, message] of cases) {
      const res = await api('GET', '/users', { as: { token: await token } });
      t.equal(res.statusCode, 401, name);
      t.match(json(res).message, message, name);
    }
    t.ok(jwks.hits() >= 1, 'keys fetched from the local JWKS server');
  });
});

t.test('OIDC tokens are refused when OIDC is not configured', async (t) => {
  const { privateKey } = await generateKeyPair('ES256');
  const ctx = await buildAdminTestApp(t);
  const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(privateKey);
  const res = await ctx.api('GET', '/users', { as: { token } });
  t.equal(res.statusCode, 401);
  t.match(json(res).message, /issuer is not accepted/);
});
