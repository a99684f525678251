import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { eventHasher, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { newAuditEventId } from '../../src/audit/ids.js';
import { canonicalAuditData } from '../../src/audit/redact.js';
import { sealPending } from '../../src/audit/sealer.js';
import { migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { checkpointDigest } from '../../src/repositories/audit-query.repository.js';
import { appendAuditEvents } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { findAuditLog } from '../../src/services/audit-log.service.js';
import { verifyAudit } from '../../src/services/audit-query.service.js';
import { createEmptyTestDb } from '../helpers/db.js';
import { TEST_SEAL } from './helpers.js';

// Upgrading a database whose trail is the old SHA-256 hash chain (issue 11): its events become
// the first leaves of each workspace's Merkle log, in chain order; the old chain still verifies
// (from its purge anchor, where a purge had moved it), and the leaves protect its hashes too.

const { db } = await createEmptyTestDb(t);
await migrateTo(db, '2026120103_oauth_clients');

const actor = { type: 'scim' as const, id: 'okta-token' };

const member = (): OldEvent => ({ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } });
type OldEvent = { type: string; targetType: 'group' | 'workspace'; targetId: string; data: Record<string, unknown> };

/** Writes a chain as the old appender did: seq from the head, each event linked to the previous. */
async function oldChain(workspaceId: string, events: OldEvent[], anchor: { seq: number; hash: string }): Promise<string[]> {
  const occurredAt = new Date('2026-11-20T10:00:00.000Z');
  const hash = eventHasher({ workspaceId, occurredAt, actor, requestId: 'req-old' });
  let prev = anchor.hash;
  const ids: string[] = [];
  const count = events.length;
  for (const [i, e] of events.entries()) {
    const fields = { id: newAuditEventId(), seq: anchor.seq + i + 1, type: e.type, targetType: e.targetType, targetId: e.targetId, causeId: null };
    const data = canonicalAuditData(e.data);
    const h = hash(prev, fields, data);
    await sql`
      insert into audit_events (id, workspace_id, seq, occurred_at, actor_type, actor_id, actor_display, request_id, event_type, target_type, target_id, data, cause_id, prev_hash, hash)
      values (${fields.id}, ${workspaceId}, ${fields.seq}, ${occurredAt}, 'scim', ${actor.id}, null, 'req-old', ${fields.type}, ${fields.targetType}, ${fields.targetId}, ${data}::jsonb, null, ${prev}, ${h})`.execute(db);
    prev = h;
    ids.push(fields.id);
  }
  await sql`
    insert into audit_chain_heads (workspace_id, seq, hash, occurred_at, anchor_seq, anchor_hash)
    values (${workspaceId}, ${anchor.seq + count}, ${prev}, ${occurredAt}, ${anchor.seq}, ${anchor.hash})`.execute(db);
  return ids;
}

const whole = (await ensureWorkspace(db, 'whole')).workspace.id;
const purged = (await ensureWorkspace(db, 'purged')).workspace.id;
const wholeIds = await oldChain(whole, [member(), member(), member(), member(), member(), member()], { seq: 0, hash: GENESIS_HASH });
// A workspace whose first four events a retention purge removed before the upgrade, recording itself.
const anchor = { seq: 4, hash: 'ab'.repeat(32) };
const purgeRecord: OldEvent = {
  type: 'audit.purged',
  targetType: 'workspace',
  targetId: purged,
  data: { throughSeq: 4, anchorHash: anchor.hash, deleted: 4, checkpoint: await checkpointDigest(db, purged) },
};
const purgedIds = await oldChain(purged, [member(), purgeRecord, member()], anchor);

await migrateToLatest(db);

t.test('old events become the first leaves, in chain order, and both chains still verify', async (t) => {
  await sealPending(db, TEST_SEAL);
  for (const [ws, ids] of [
    [whole, wholeIds],
    [purged, purgedIds],
  ] as const) {
    const rows = await db.selectFrom('audit_events').select(['id', 'leaf_index', 'hash']).where('workspace_id', '=', ws).orderBy('leaf_index').execute();
    t.same(rows.map((r) => r.id), ids, 'leaf order is chain order');
    t.same(rows.map((r) => Number(r.leaf_index)), ids.map((_, i) => i));
    t.match(await verifyAudit(db, ws), { ok: true, checked: ids.length, tree: { size: ids.length } });
  }
  t.match(await verifyAudit(db, purged), { anchor, checkpoint: { ok: true, throughSeq: 4 } }, 'the old anchor and purge record are kept');
});

t.test('new events continue the log without a chain; the old chain stays checked', async (t) => {
  await db.transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: whole, actor }, [{ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } }]));
  await sealPending(db, TEST_SEAL);
  const last = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', whole).orderBy('seq', 'desc').executeTakeFirstOrThrow();
  t.same([Number(last.leaf_index), last.prev_hash, last.hash], [6, null, null]);
  t.equal((await findAuditLog(db, whole))?.treeSize, 7);
  t.match(await verifyAudit(db, whole), { ok: true, checked: 7 });

  // The leaves commit to the old hashes too: rewriting one (triggers off) is caught both ways.
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await trx.updateTable('audit_events').set({ hash: 'f'.repeat(64) }).where('id', '=', wholeIds[2]!).execute();
  });
  t.match(await verifyAudit(db, whole), { ok: false, firstBroken: { id: wholeIds[2], reason: 'leaf_mismatch' } });
});
