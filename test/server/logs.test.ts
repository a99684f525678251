import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config/index.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { TEST_ACTOR } from '../helpers/app.js';
import { createTestDb } from '../helpers/db.js';

// @dialect-independent: what the service writes to its log, not what it stores.
// JSON lines with ISO-8601 times and level names; each request's lines name its caller by token
// id, never by secret; an IdP that hangs up mid-response is not an error of ours.

async function appWithLog(t: { teardown(fn: () => unknown): void }) {
  const db = await createTestDb(t);
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logStream = { write: (line: string) => (raw.push(line), lines.push(JSON.parse(line) as Record<string, unknown>)) };
  const app = await buildApp(testConfig({ logLevel: 'info' }), { database: db, logStream });
  t.teardown(() => app.close());
  const { id, token } = await createScimToken(db.db, { workspaceId: db.workspaceId }, TEST_ACTOR);
  return { app, db, lines, raw, tokenId: id, token };
}

t.test('request lines: ISO time, level name, the actor by token id, no secret', async (t) => {
  const { app, lines, raw, tokenId, token } = await appWithLog(t);
  const res = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 200);
  const completed = lines.find((l) => l.msg === 'request completed');
  t.ok(completed, 'the response is logged');
  t.match(completed, { level: 'info', actor: `scim-token:${tokenId}`, res: { statusCode: 200 } });
  t.match(completed!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'an ISO-8601 time');
  t.notOk(raw.join('').includes(token), 'the bearer secret appears nowhere');
  const refused = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer csb_${'x'.repeat(43)}` } });
  t.equal(refused.statusCode, 401);
  t.notOk(raw.join('').includes('x'.repeat(43)), 'nor a refused one');
});

t.test('an IdP hanging up during a large group GET is logged at info, not as an error', async (t) => {
  const { app, db, lines, token } = await appWithLog(t);
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  // Enough members that the body outgrows the socket buffers of a client that never reads.
  const ids = Array.from({ length: 5000 }, () => randomUUID());
  await db.db.insertInto('users').values(ids.map((id, i) => ({ id, workspace_id: db.workspaceId, user_name: `u${i}@example.com`, resource: JSON.stringify({ userName: `u${i}@example.com`, active: true }) }))).execute();
  const members = ids.map((value) => ({ value }));
  const group = await app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: auth, payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'big', members } });
  t.equal(group.statusCode, 201);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  for (const delay of [0, 5, 20, 50, 100]) {
    // Hang up at once, before the first member chunk is read, and later, mid-stream.
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.pause();
        socket.write(`GET /scim/v2/Groups/${group.json().id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        setTimeout(() => (socket.destroy(), resolve()), delay);
      });
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const errors = lines.filter((l) => l.level === 'error' || l.level === 'fatal');
  t.same(errors.map((l) => l.msg), [], 'no error-level line');
  const ok = await app.inject({ method: 'GET', url: `/scim/v2/Groups/${group.json().id}?attributes=displayName`, headers: auth });
  t.equal(ok.statusCode, 200, 'and the service carries on');
});
