import { createHash } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { runCli } from '../../../src/cli/program.js';
import { Secret, testConfig } from '../../../src/config/index.js';
import { ADMIN_TOKEN_AUDIENCE, ADMIN_TOKEN_ISSUER, createAdminToken, type AdminRole } from '../../../src/services/admin-tokens.service.js';
import { revokeToken } from '../../../src/services/tokens.service.js';
import { TEST_ACTOR } from '../../helpers/app.js';
import { ADMIN_SECRET, buildAdminTestApp, json } from './helpers.js';

// @dialect-independent: JWT verification and role checks; the database only keeps token rows.

// Who may call /api/v1: bridge-signed admin JWTs (this file) and IdP tokens (oidc.test.ts).

const DAY = 24 * 60 * 60 * 1000;
const ROLES: AdminRole[] = ['owner', 'codex-admin', 'compliance'];

t.test('admin authentication', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, app, db, workspaceId } = ctx;

  /** Signs arbitrary claims with the bridge key (or another one) and a given header. */
  const sign = (claims: Record<string, unknown>, options: { key?: string; alg?: string; iss?: string; aud?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
      .setIssuer(options.iss ?? ADMIN_TOKEN_ISSUER)
      .setAudience(options.aud ?? ADMIN_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(options.key ?? ADMIN_SECRET.reveal()));

  const expect401 = async (t: Test, name: string, token: string | null, message: RegExp) => {
    const res = await api('GET', '/users', { as: token === null ? null : { token } });
    t.equal(res.statusCode, 401, `${name}: 401`);
    t.match(json(res), { statusCode: 401, error: 'Unauthorized', message }, `${name}: message`);
    t.match(res.headers['www-authenticate'], /^Bearer realm="admin"/, `${name}: WWW-Authenticate`);
    if (token) t.notMatch(res.body, token, `${name}: the token is not echoed`);
  };

  t.test('each role can read', async (t) => {
    for (const role of ROLES) {
      const res = await api('GET', '/users', { as: role });
      t.equal(res.statusCode, 200, role);
    }
  });

  t.test('401: missing, malformed, forged, expired, wrong audience or issuer, alg none, revoked', async (t) => {
    const { id, token } = await ctx.mint('owner');
    const row = await db.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const claims = { workspace_id: workspaceId, role: 'owner', jti: id, sub: `token:${id}` };

    await expect401(t, 'no header', null, /Bearer <admin JWT> is required/);
    await expect401(t, 'not a JWT', 'csb_notajwt', /not a JWT/);
    await expect401(t, 'SCIM token', ctx.scimToken, /not a JWT/);
    await expect401(t, 'other key', await sign(claims, { key: 'another-secret-of-sufficient-length-1234567' }), /signature is not valid/);
    await expect401(t, 'wrong audience', await sign(claims, { aud: 'codex-scim-bridge-scim' }), /audience is not accepted/);
    await expect401(t, 'unknown issuer', await sign(claims, { iss: 'https://evil.example' }), /issuer is not accepted/);
    await expect401(t, 'HS512', await sign(claims, { alg: 'HS512' }), /algorithm/);

    // A valid signature over the claims of a real row is still refused: the row stores the hash
    // of the exact JWT it was minted as, so a leaked key alone mints nothing.
    await expect401(t, 'forged with the key', await sign(claims), /not known/);

    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ ...claims, iss: ADMIN_TOKEN_ISSUER, aud: ADMIN_TOKEN_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 }));
    await expect401(t, 'alg none', `${header}.${payload}.`, /alg "none"/);

    const longAgo = new Date(Date.now() - 10 * DAY);
    const expired = await createAdminToken(db.db, ADMIN_SECRET, { workspaceId, role: 'owner', expiresAt: new Date(longAgo.getTime() + DAY) }, TEST_ACTOR, longAgo);
    await expect401(t, 'expired', expired.token, /expired/);

    t.equal((await api('GET', '/users', { as: { token } })).statusCode, 200, 'valid before revocation');
    await revokeToken(db.db, id, TEST_ACTOR);
    await expect401(t, 'revoked', token, /revoked/);
    t.ok(row.token_hash !== token && !row.token_hash.includes('.'), 'only a hash is stored');
  });

  t.test('bridge tokens are refused when ADMIN_JWT_SECRET is unset or changed', async (t) => {
    const other = await buildAdminTestApp(t, { adminJwtSecret: undefined });
    const res = await other.api('GET', '/users', { as: { token: ctx.tokens.owner } });
    t.equal(res.statusCode, 401);
    t.match(json(res).message, /ADMIN_JWT_SECRET is not set/);
    const rotated = await buildAdminTestApp(t, { adminJwtSecret: new Secret('a-rotated-secret-that-is-long-enough-000000') });
    t.equal((await rotated.api('GET', '/users', { as: { token: rotated.tokens.owner } })).statusCode, 401, "the new key does not verify the old key's tokens");
  });

  t.test('scope separation: SCIM tokens on /api/v1, admin tokens on /scim/v2', async (t) => {
    const scimOnAdmin = await api('GET', '/permissions', { as: { token: ctx.scimToken } });
    t.equal(scimOnAdmin.statusCode, 401);
    for (const role of ROLES) {
      const adminOnScim = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${ctx.tokens[role]}` } });
      t.equal(adminOnScim.statusCode, 401, `${role} token on SCIM`);
      t.match(json(adminOnScim), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
      const post = await app.inject({
        method: 'POST',
        url: '/scim/v2/Users',
        headers: { authorization: `Bearer ${ctx.tokens[role]}`, 'content-type': 'application/scim+json' },
        payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${role}@example.com` }),
      });
      t.equal(post.statusCode, 401, `${role} token cannot provision`);
    }
  });

  t.test('a token of another workspace sees only that workspace', async (t) => {
    const { workspace } = await import('../../../src/repositories/workspaces.repository.js').then((m) => m.ensureWorkspace(db.db, 'other-ws'));
    const created = await ctx.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'only-in-test@example.com' });
    t.equal(created.statusCode, 201);
    const foreign = await ctx.mint('owner', { workspaceId: workspace.id });
    const res = await api('GET', '/users/only-in-test@example.com', { as: { token: foreign.token } });
    t.equal(res.statusCode, 404);
    t.equal((await api('GET', '/users/only-in-test@example.com')).statusCode, 200);
  });

  t.test('403 by role: roles × endpoints', async (t) => {
    const role = json(await api('POST', '/roles', { body: { name: 'Matrix role' } }));
    const user = json(await ctx.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'matrix@example.com' }));
    // [method, url, body, roles allowed]
    const R = ['owner', 'codex-admin', 'compliance'];
    const M = ['owner', 'codex-admin'];
    const O = ['owner'];
    const cases: Array<[string, string, unknown, string[]]> = [
      ['GET', '/users', undefined, R],
      ['GET', `/users/${user.id}/groups`, undefined, R],
      ['GET', '/groups', undefined, R],
      ['GET', '/permissions', undefined, R],
      ['GET', '/roles', undefined, R],
      ['GET', '/mappings', undefined, R],
      ['GET', '/settings', undefined, R],
      ['GET', '/default-role', undefined, R],
      ['GET', `/users/${user.id}/effective-permissions`, undefined, R],
      ['GET', '/permissions/codex_local/holders', undefined, R],
      ['POST', '/effective-permissions:batch', { userIds: [user.id] }, R],
      ['POST', '/permissions', { key: 'matrix_perm' }, M],
      ['PATCH', `/roles/${role.id}`, { description: 'x' }, M],
      ['POST', '/mappings', { roleId: role.id, groupDisplayName: 'matrix-group' }, M],
      ['PUT', `/users/${user.id}/roles/${role.id}`, undefined, M],
      ['PUT', '/default-role', { roleId: (json(await api('GET', '/default-role')) as { roleId: string | null }).roleId }, M],
      ['PATCH', '/settings', { strategy: 'most-permissive' }, O],
      ['DELETE', '/permissions/no_such_permission', undefined, M],
    ];
    for (const [method, url, body, allowed] of cases) {
      for (const r of ROLES) {
        const res = await api(method as 'GET', url, { body, as: r });
        if (allowed.includes(r)) {
          t.ok(res.statusCode < 400 || res.statusCode === 404 || res.statusCode === 409, `${r} may ${method} ${url} (${res.statusCode})`);
        } else {
          t.equal(res.statusCode, 403, `${r} may not ${method} ${url}`);
          t.match(json(res), { statusCode: 403, error: 'Forbidden', message: new RegExp(`The ${r} role may not ${method}`) });
        }
      }
    }
  });

  t.test('a refused write changes nothing', async (t) => {
    const before = await db.db.selectFrom('roles').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await api('POST', '/roles', { body: { name: 'Sneaky' }, as: 'compliance' });
    t.equal(res.statusCode, 403);
    const after = await db.db.selectFrom('roles').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    t.equal(Number(after.n), Number(before.n));
  });

  t.test('writes are audited with the admin subject and request id', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/roles',
      headers: { authorization: `Bearer ${ctx.tokens['codex-admin']}`, 'content-type': 'application/json', 'x-request-id': 'req-audit-1' },
      payload: JSON.stringify({ name: 'Audited role' }),
    });
    t.equal(res.statusCode, 201);
    const { rows } = await sql<{ actor_type: string; actor_id: string; actor_display: string | null; request_id: string }>`
      select actor_type, actor_id, actor_display, request_id from audit_events where event_type = 'role.created' and target_id = ${json(res).id}`.execute(db.db);
    t.match(rows, [{ actor_type: 'admin', actor_id: /^token:[0-9a-f-]{36}$/, actor_display: 'test codex-admin', request_id: 'req-audit-1' }]);
  });
});

t.test('codex-scim token create --scope admin', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const out = { stdout: '', stderr: '' };
  const io = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } };
  const handle = { ...ctx.db, close: async () => {} }; // the test owns the database
  const run = (args: string[], secret: Secret | null = ADMIN_SECRET) => {
    out.stdout = '';
    out.stderr = '';
    return runCli(args, { io, loadConfig: () => testConfig({ adminJwtSecret: secret ?? undefined }), openDb: async () => handle });
  };

  t.equal(await run(['token', 'create', '--workspace', 'test', '--scope', 'admin', '--role', 'compliance', '--expires-in-days', '7']), 0, out.stderr);
  const token = out.stdout.trim();
  t.match(out.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'a JWT alone on stdout');
  t.match(out.stderr, /Created admin token \(role compliance\) [0-9a-f-]{36}/);
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  t.match(claims, { iss: ADMIN_TOKEN_ISSUER, aud: ADMIN_TOKEN_AUDIENCE, role: 'compliance', workspace_id: ctx.workspaceId, sub: `token:${claims.jti}` });
  t.ok(claims.exp - claims.iat === 7 * 86400, 'expires in 7 days');

  t.equal((await ctx.api('GET', '/users', { as: { token } })).statusCode, 200, 'the CLI token works');
  t.equal((await ctx.api('POST', '/roles', { body: { name: 'x' }, as: { token } })).statusCode, 403, 'as compliance');

  t.equal(await run(['token', 'list', '--json']), 0);
  const listed = (JSON.parse(out.stdout) as Array<{ id: string; scope: string; role: string }>).find((r) => r.id === claims.jti);
  t.match(listed, { scope: 'admin', role: 'compliance' });
  t.notMatch(out.stdout, token, 'never listed');
  const stored = await ctx.db.db.selectFrom('api_tokens').select('token_hash').where('id', '=', claims.jti).executeTakeFirstOrThrow();
  t.equal(stored.token_hash, createHash('sha256').update(token).digest('hex'), 'only the SHA-256 of the JWT is stored');

  t.equal(await run(['token', 'revoke', claims.jti]), 0);
  const revoked = await ctx.api('GET', '/users', { as: { token } });
  t.equal(revoked.statusCode, 401);
  t.match(json(revoked).message, /revoked/);

  t.equal(await run(['token', 'create', '--workspace', 'test', '--scope', 'admin', '--role', 'owner']), 0);
  const defaultClaims = JSON.parse(Buffer.from(out.stdout.trim().split('.')[1]!, 'base64url').toString());
  t.equal(defaultClaims.exp - defaultClaims.iat, 30 * 86400, 'admin tokens expire after 30 days by default');

  t.equal(await run(['token', 'create', '--workspace', 'test', '--scope', 'admin']), 1);
  t.match(out.stderr, /^error: --scope admin needs --role/);
  t.equal(await run(['token', 'create', '--workspace', 'test', '--scope', 'admin', '--role', 'root']), 2, 'a choice outside the list is a usage error');
  t.match(out.stderr, /argument 'root' is invalid/);
  t.equal(await run(['token', 'create', '--workspace', 'test', '--scope', 'admin', '--role', 'owner'], null), 1);
  t.match(out.stderr, /^error: ADMIN_JWT_SECRET is not set/);
  t.equal(out.stdout, '');
});
