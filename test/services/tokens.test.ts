import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import type { AuditActor } from '../../src/audit/types.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import {
  authenticateToken,
  authenticateScimToken,
  createScimToken,
  createToken,
  hashToken,
  listTokens,
  revokeToken,
  TokenError,
  TokenNotFoundError,
} from '../../src/services/tokens.service.js';
import { createTestDb } from '../helpers/db.js';

const { db, workspaceId } = await createTestDb(t);
const { workspace: other } = await ensureWorkspace(db, 'other');
const actor: AuditActor = { type: 'cli', id: 'alice' };
const TOKEN = /^csb_[A-Za-z0-9_-]{43}$/;

interface AuditRow {
  event_type: string;
  target_type: string;
  target_id: string;
  workspace_id: string;
  actor_type: string;
  actor_id: string;
  data: Record<string, unknown>;
}

async function auditEventsFor(targetId: string): Promise<AuditRow[]> {
  const { rows } = await sql<AuditRow>`
    select event_type, target_type, target_id, workspace_id, actor_type, actor_id, data
    from audit_events where target_id = ${targetId} order by seq`.execute(db);
  return rows;
}

async function tokenRow(id: string) {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

t.test('create stores only the SHA-256 of the secret and audits without it', async (t) => {
  const { id, token } = await createScimToken(db, { workspaceId, description: ' Okta prod ' }, actor);
  t.match(token, TOKEN);

  const row = await tokenRow(id);
  t.equal(row.token_hash, hashToken(token));
  t.match(row.token_hash, /^[0-9a-f]{64}$/);
  t.notOk(JSON.stringify(row).includes(token.slice(4)), 'the secret is nowhere in the row');
  t.match(row, { workspace_id: workspaceId, scope: 'scim', role: null, description: 'Okta prod', revoked_at: null, expires_at: null });

  const events = await auditEventsFor(id);
  t.equal(events.length, 1);
  t.match(events[0], {
    event_type: 'token.created',
    target_type: 'token',
    workspace_id: workspaceId,
    actor_type: 'cli',
    actor_id: 'alice',
    data: { id, scope: 'scim', role: null, description: 'Okta prod' },
  });
  const serialised = JSON.stringify(events);
  t.notOk(serialised.includes(token.slice(4)), 'no secret in the audit event');
  t.notOk(serialised.includes(row.token_hash), 'no hash in the audit event');
});

t.test('two tokens never share a secret', async (t) => {
  const a = await createScimToken(db, { workspaceId }, actor);
  const b = await createScimToken(db, { workspaceId }, actor);
  t.not(a.token, b.token);
  t.not(a.id, b.id);
});

t.test('authenticate accepts the live secret and nothing else', async (t) => {
  const { id, token } = await createScimToken(db, { workspaceId: other.id }, actor);
  t.same(await authenticateScimToken(db, token), { tokenId: id, workspaceId: other.id, schemaVersion: 0, unknownAttributes: 'store' });
  for (const wrong of ['', 'csb_', token.slice(0, -1), `${token}x`, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, hashToken(token), `Bearer ${token}`]) {
    t.equal(await authenticateScimToken(db, wrong), undefined, JSON.stringify(wrong));
  }
});

t.test('last_used_at is written on first use, then at most once a minute', async (t) => {
  const { id, token } = await createScimToken(db, { workspaceId }, actor);
  t.equal((await tokenRow(id)).last_used_at, null);
  const t0 = new Date(Date.now() + 1000);
  await authenticateScimToken(db, token, { now: t0 });
  t.equal((await tokenRow(id)).last_used_at?.getTime(), t0.getTime());
  await authenticateScimToken(db, token, { now: new Date(t0.getTime() + 59_000) });
  t.equal((await tokenRow(id)).last_used_at?.getTime(), t0.getTime(), 'not rewritten within the minute');
  const t2 = new Date(t0.getTime() + 61_000);
  await authenticateScimToken(db, token, { now: t2 });
  t.equal((await tokenRow(id)).last_used_at?.getTime(), t2.getTime());
});

t.test('expired tokens are rejected; an expiry in the past is refused', async (t) => {
  const expiresAt = new Date(Date.now() + 3_600_000);
  const { id, token } = await createScimToken(db, { workspaceId, expiresAt }, actor);
  t.equal((await tokenRow(id)).expires_at?.getTime(), expiresAt.getTime());
  t.ok(await authenticateScimToken(db, token, { now: new Date(expiresAt.getTime() - 1) }));
  t.equal(await authenticateScimToken(db, token, { now: expiresAt }), undefined);
  t.equal(await authenticateScimToken(db, token, { now: new Date(expiresAt.getTime() + 86_400_000) }), undefined);

  await t.rejects(createScimToken(db, { workspaceId, expiresAt: new Date(Date.now() - 1000) }, actor), TokenError);
});

t.test('revoke: the token stops working, a second revoke changes nothing, unknown ids are errors', async (t) => {
  const { id, token } = await createScimToken(db, { workspaceId, description: 'Entra' }, actor);
  const first = await revokeToken(db, id, { type: 'cli', id: 'bob' });
  t.match(first, { id, workspaceId, alreadyRevoked: false });
  t.type(first.revokedAt, Date);
  t.equal(await authenticateScimToken(db, token), undefined);

  const second = await revokeToken(db, id, actor);
  t.equal(second.alreadyRevoked, true);
  t.equal(second.revokedAt.getTime(), first.revokedAt.getTime(), 'the first revocation time is kept');

  const events = await auditEventsFor(id);
  t.same(events.map((e) => e.event_type), ['token.created', 'token.revoked'], 'one revocation event');
  t.match(events[1], { actor_id: 'bob', data: { id, scope: 'scim', description: 'Entra' } });
  t.notOk(JSON.stringify(events).includes(token.slice(4)));

  await t.rejects(revokeToken(db, randomUUID(), actor), TokenNotFoundError);
  await t.rejects(revokeToken(db, 'not-a-uuid', actor), TokenNotFoundError);
});

t.test('tokens authenticate only in their own scope; admin tokens are minted as JWTs elsewhere', async (t) => {
  const token = `csb_${'A'.repeat(43)}`;
  await db
    .insertInto('api_tokens')
    .values({ id: randomUUID(), workspace_id: workspaceId, scope: 'admin', role: 'owner', token_hash: hashToken(token) })
    .execute();
  t.equal(await authenticateScimToken(db, token), undefined);

  await t.rejects(createToken(db, { workspaceId, scope: 'admin', role: 'owner' }, actor), { message: /Admin tokens are JWTs/ });
  await t.rejects(createToken(db, { workspaceId, scope: 'scim', role: 'owner' }, actor), TokenError);

  const decision = await createToken(db, { workspaceId, scope: 'decision' }, actor);
  t.match(decision.token, /^csd_[A-Za-z0-9_-]{43}$/);
  t.equal(await authenticateScimToken(db, decision.token), undefined, 'a decision token does not provision');
  t.match(await authenticateToken(db, decision.token, 'decision'), { tokenId: decision.id, workspaceId });
  const scim = await createScimToken(db, { workspaceId }, actor);
  t.equal(await authenticateToken(db, scim.token, 'decision'), undefined, 'nor does a SCIM token decide');
});

t.test('create refuses unknown workspaces and bad descriptions', async (t) => {
  await t.rejects(createScimToken(db, { workspaceId: randomUUID() }, actor), { message: /No workspace/ });
  await t.rejects(createScimToken(db, { workspaceId: 'default' }, actor), { message: /No workspace/ });
  await t.rejects(createScimToken(db, { workspaceId, description: 'x'.repeat(201) }, actor), TokenError);
  await t.rejects(createScimToken(db, { workspaceId, description: 'a\nb' }, actor), TokenError);
});

t.test('list returns metadata only, optionally for one workspace', async (t) => {
  const all = await listTokens(db);
  t.ok(all.length >= 2);
  for (const token of all) {
    t.same(Object.keys(token).sort(), [
      'createdAt',
      'description',
      'expiresAt',
      'id',
      'lastUsedAt',
      'replacedBy',
      'revokedAt',
      'role',
      'scope',
      'workspaceId',
      'workspaceName',
    ]);
  }
  const others = await listTokens(db, { workspaceId: other.id });
  t.equal(others.length, 1);
  t.match(others[0], { workspaceId: other.id, workspaceName: 'other', scope: 'scim' });
  t.same(await listTokens(db, { workspaceId: 'nope' }), []);
});
