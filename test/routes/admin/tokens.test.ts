import { spawn } from 'node:child_process';
import t from 'tap';
import { ensureWorkspace } from '../../../src/repositories/workspaces.repository.js';
import { createScimToken, revokeToken } from '../../../src/services/tokens.service.js';
import { TEST_ACTOR } from '../../helpers/app.js';
import { testDialect } from '../../helpers/db.js';
import { buildAdminTestApp } from './helpers.js';

// Token lifecycle over the admin API (owners): create, list with last use, revoke, and rotate
// with an overlap in which old and new secrets both work. All of it while the service runs.
// Verified tokens are remembered for a second (src/services/auth-cache.ts): a revocation is
// refused at once by the instance that made it (below, right after a use), and within a second
// by another one (the last test, a second server process on the same PostgreSQL database).

const scimAs = (ctx: Awaited<ReturnType<typeof buildAdminTestApp>>, token: string) =>
  ctx.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}` } });

t.test('create, use, list, revoke; owners only; never a secret in a listing or the trail', async (t) => {
  const ctx = await buildAdminTestApp(t);
  t.equal((await ctx.api('POST', '/tokens', { body: {}, as: 'codex-admin' })).statusCode, 403, 'a Codex admin may not mint SCIM tokens');
  t.equal((await ctx.api('GET', '/tokens', { as: 'compliance' })).statusCode, 403);

  const created = await ctx.api('POST', '/tokens', { body: { description: 'Okta prod', expiresInDays: 90 } });
  t.equal(created.statusCode, 201);
  t.equal(created.headers['cache-control'], 'no-store', 'the secret is not cached on the way');
  const { id, token } = created.json();
  t.match(token, /^csb_[A-Za-z0-9_-]{43}$/);
  t.equal((await scimAs(ctx, token)).statusCode, 200, 'the new token provisions');

  const listed = await ctx.api('GET', '/tokens');
  t.equal(listed.statusCode, 200);
  const mine = listed.json().find((row: { id: string }) => row.id === id);
  t.match(mine, { scope: 'scim', description: 'Okta prod', revokedAt: null, replacedBy: null });
  t.ok(mine.lastUsedAt, 'with its last use');
  t.notOk(listed.body.includes(token), 'no secret in the listing');
  t.notMatch(listed.body, /token_hash|"hash"/, 'nor a hash');

  t.equal((await ctx.api('POST', '/tokens', { body: { expiresInDays: 0 } })).statusCode, 400);
  t.equal((await ctx.api('POST', '/tokens', { body: { scope: 'admin' } })).statusCode, 400, 'unknown properties are refused');

  t.equal((await ctx.api('DELETE', `/tokens/${id}`)).statusCode, 204);
  t.equal((await scimAs(ctx, token)).statusCode, 401, 'revoked: refused at once');
  t.equal((await ctx.api('DELETE', `/tokens/${id}`)).statusCode, 204, 'revoking again changes nothing');
  t.equal((await ctx.api('DELETE', '/tokens/00000000-0000-4000-8000-000000000000')).statusCode, 404);
  t.equal((await ctx.api('DELETE', '/tokens/not-an-id')).statusCode, 404);

  const trail = await ctx.db.db.selectFrom('audit_events').select(['event_type as type', 'data']).where('target_id', '=', id).orderBy('seq').execute();
  t.same(trail.map((e) => e.type), ['token.created', 'token.revoked'], 'audited once each');
  t.notOk(JSON.stringify(trail).includes(token), 'no secret in the trail');
});

t.test('rotate: both secrets work for the overlap, the old one stops after; rotated once', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { id, token: oldToken } = (await ctx.api('POST', '/tokens', { body: { description: 'Entra' } })).json();

  const rotated = await ctx.api('POST', `/tokens/${id}/rotate`, { body: { overlapSeconds: 600 } });
  t.equal(rotated.statusCode, 201);
  const { id: newId, token: newToken, replaces, oldExpiresAt } = rotated.json();
  t.equal(replaces, id);
  t.ok(Math.abs(Date.parse(oldExpiresAt) - Date.now() - 600_000) < 30_000, 'the old one ends after the overlap');
  t.equal((await scimAs(ctx, newToken)).statusCode, 200, 'the new secret works');
  t.equal((await scimAs(ctx, oldToken)).statusCode, 200, 'and the old one still does, for the overlap');
  const rows = (await ctx.api('GET', '/tokens')).json() as Array<{ id: string; description: string; replacedBy: string | null }>;
  t.match(rows.find((r) => r.id === id), { replacedBy: newId });
  t.match(rows.find((r) => r.id === newId), { description: 'Entra', replacedBy: null }, 'the successor keeps the description');

  const again = await ctx.api('POST', `/tokens/${id}/rotate`, { body: {} });
  t.equal(again.statusCode, 400, 'a rotated token is not rotated twice');
  t.match(again.json().detail, `its successor is ${newId}`);

  const now = await ctx.api('POST', `/tokens/${newId}/rotate`, { body: { overlapSeconds: 0 } });
  t.equal(now.statusCode, 201, 'overlap 0');
  t.equal((await scimAs(ctx, newToken)).statusCode, 401, 'the replaced secret stops at once');
  t.equal((await scimAs(ctx, now.json().token)).statusCode, 200);

  const events = await ctx.db.db.selectFrom('audit_events').select(['event_type as type', 'target_id', 'data']).where('event_type', 'in', ['token.created', 'token.rotated']).orderBy('seq').execute();
  t.match(events.filter((e) => e.type === 'token.rotated'), [{ target_id: id, data: { id: newId, replaces: id } }, { target_id: newId }]);
  t.notOk(JSON.stringify(events).includes(oldToken) || JSON.stringify(events).includes(newToken), 'no secret in the trail');

  t.equal((await ctx.api('POST', `/tokens/${id}/rotate`, { body: { overlapSeconds: -1 } })).statusCode, 400);
  t.equal((await ctx.api('POST', '/tokens/00000000-0000-4000-8000-000000000000/rotate', { body: {} })).statusCode, 404);
});

t.test('concurrent rotations of one token mint one successor', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { id } = (await ctx.api('POST', '/tokens', { body: {} })).json();
  const results = await Promise.all([1, 2, 3].map(() => ctx.api('POST', `/tokens/${id}/rotate`, { body: { overlapSeconds: 60 } })));
  t.same(results.map((r) => r.statusCode).sort(), [201, 400, 400]);
  const successors = await ctx.db.db.selectFrom('audit_events').select('id').where('event_type', '=', 'token.rotated').where('target_id', '=', id).execute();
  t.equal(successors.length, 1, 'one rotation recorded');
});

t.test("another workspace's token is not found", async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { workspace } = await ensureWorkspace(ctx.db.db, 'other');
  const foreign = await createScimToken(ctx.db.db, { workspaceId: workspace.id }, TEST_ACTOR);
  t.equal((await ctx.api('DELETE', `/tokens/${foreign.id}`)).statusCode, 404);
  t.equal((await ctx.api('POST', `/tokens/${foreign.id}/rotate`, { body: {} })).statusCode, 404);
  t.notOk((await ctx.api('GET', '/tokens')).json().some((row: { id: string }) => row.id === foreign.id), 'nor listed');
  t.equal((await scimAs(ctx, foreign.token)).statusCode, 200, 'and it still works');
});

t.test('another instance refuses a revoked token within a second', { skip: testDialect !== 'postgres' && 'PGlite is one process' }, async (t) => {
  const ctx = await buildAdminTestApp(t);
  const tokenId = (await ctx.db.db.selectFrom('api_tokens').select('id').where('workspace_id', '=', ctx.workspaceId).executeTakeFirstOrThrow()).id;
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    env: { ...process.env, DATABASE_URL: ctx.db.databaseUrl, PORT: '0', LOG_LEVEL: 'info', SCIM_RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      if (found) resolve(Number(found));
    });
    child.on('exit', (code) => reject(new Error(`the second instance exited with ${code}:\n${out}`)));
  });
  const get = async () => (await fetch(`http://127.0.0.1:${port}/scim/v2/Users?count=1`, { headers: { authorization: `Bearer ${ctx.scimToken}` } })).status;
  t.equal(await get(), 200, 'the second instance verified and now remembers the token');
  await revokeToken(ctx.db.db, tokenId, TEST_ACTOR);
  const revokedAt = Date.now();
  let status = await get();
  while (status === 200 && Date.now() - revokedAt < 5_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    status = await get();
  }
  const after = Date.now() - revokedAt;
  t.equal(status, 401);
  t.ok(after <= 1_200, `refused ${after} ms after the revocation`);
  t.equal((await ctx.scim('GET', '/Users')).statusCode, 401, 'and by this instance at once');
});
