import { spawn } from 'node:child_process';
import t from 'tap';
import { revokeToken } from '../../../src/services/tokens.service.js';
import { buildTestApp, TEST_ACTOR } from '../../helpers/app.js';
import { testDialect } from '../../helpers/db.js';

// Verified SCIM tokens are remembered for a second (issue 12): the lookup left the hot path, and
// a revocation still takes effect at once in the instance that made it and within a second in
// every other one — here a second service process on the same PostgreSQL database.

const ctx = await buildTestApp(t);
const tokenId = async () => (await ctx.db.db.selectFrom('api_tokens').select('id').where('workspace_id', '=', ctx.workspaceId).executeTakeFirstOrThrow()).id;

t.test('the instance that revokes refuses the token at once, though it had just verified it', async (t) => {
  const other = await buildTestApp(t);
  t.equal((await other.scim('GET', '/Users')).statusCode, 200);
  t.equal((await other.scim('GET', '/Users')).statusCode, 200, 'remembered');
  const id = (await other.db.db.selectFrom('api_tokens').select('id').where('workspace_id', '=', other.workspaceId).executeTakeFirstOrThrow()).id;
  await revokeToken(other.db.db, id, TEST_ACTOR);
  t.equal((await other.scim('GET', '/Users')).statusCode, 401);
});

t.test('another instance refuses a revoked token within a second', { skip: testDialect !== 'postgres' && 'PGlite is one process' }, async (t) => {
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
  await revokeToken(ctx.db.db, await tokenId(), TEST_ACTOR);
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
