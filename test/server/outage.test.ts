import { createServer, connect, type Server, type Socket } from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config/index.js';
import { createDb } from '../../src/db/index.js';
import { createAdminToken } from '../../src/services/admin-tokens.service.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { ADMIN_SECRET } from '../routes/admin/helpers.js';
import { TEST_ACTOR } from '../helpers/app.js';
import { createTestDb, testDialect } from '../helpers/db.js';

// The database goes away under a running service and comes back: SCIM and admin requests answer
// 503 with Retry-After and an error body of their own format meanwhile, and succeed again after,
// with no restart. The outage is a real one: the service reaches PostgreSQL through a TCP relay
// that the test cuts (every connection reset, nothing listening) and restores.

/** A TCP relay to `target` that can be cut and restored on the same port. */
async function relay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      await new Promise<void>((resolve) => {
        server!.close(() => resolve());
        for (const s of sockets) s.resetAndDestroy();
      });
    },
    restore: listen,
  };
}

t.test('PostgreSQL unreachable: 503 with Retry-After, then recovery without a restart', { skip: testDialect === 'postgres' ? false : 'needs a PostgreSQL server' }, async (t) => {
  const direct = await createTestDb(t);
  const url = new URL(direct.databaseUrl!);
  const link = await relay({ host: url.hostname, port: Number(url.port) });
  t.teardown(() => link.cut());
  url.port = String(link.port);
  const database = await createDb({ databaseUrl: url.toString(), dataDir: '' });
  t.teardown(() => database.close());
  const app = await buildApp(testConfig({ adminJwtSecret: ADMIN_SECRET }), { database });
  t.teardown(() => app.close());
  const scimToken = (await createScimToken(direct.db, { workspaceId: direct.workspaceId }, TEST_ACTOR)).token;
  const adminToken = (await createAdminToken(direct.db, ADMIN_SECRET, { workspaceId: direct.workspaceId, role: 'owner', expiresAt: new Date(Date.now() + 3_600_000) }, TEST_ACTOR)).token;
  const get = (path: string) =>
    app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${path.startsWith('/api/') ? adminToken : scimToken}` } });

  t.equal((await get('/scim/v2/Users')).statusCode, 200, 'up: SCIM answers');
  await link.cut();

  const scim = await get('/scim/v2/Users');
  t.equal(scim.statusCode, 503, 'down: SCIM answers 503');
  t.equal(scim.headers['retry-after'], '5', 'with Retry-After');
  t.match(scim.json(), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' }, 'and a SCIM error body');
  const admin = await get('/api/v1/users');
  t.equal(admin.statusCode, 503, 'down: the admin API answers 503');
  t.equal(admin.headers['retry-after'], '5');
  t.match(admin.json(), { type: 'about:blank', status: 503, title: 'Service Unavailable' }, 'and a problem body');
  t.equal((await get('/readyz')).statusCode, 503, 'down: not ready');
  t.equal((await get('/healthz')).statusCode, 200, 'down: the process is still alive');

  await link.restore();
  t.equal((await get('/scim/v2/Users')).statusCode, 200, 'back: SCIM answers again, no restart');
  t.equal((await get('/api/v1/users')).statusCode, 200, 'back: the admin API too');
  t.equal((await get('/readyz')).statusCode, 200, 'back: ready');
});
