import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { Kysely, PostgresDialect, sql } from 'kysely';
import t from 'tap';
import type { AuditContext, NewAuditEvent } from '../../src/audit/types.js';
import { testConfig } from '../../src/config/index.js';
import { createPool, type Db } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import auditRetentionPlugin from '../../src/plugins/audit-retention.js';
import auditSealerPlugin from '../../src/plugins/audit-sealer.js';
import databasePlugin from '../../src/plugins/database.js';
import { appendAuditEvents } from '../../src/repositories/audit.repository.js';
import { findAuditLog } from '../../src/services/audit-log.service.js';
import { holdersAt } from '../../src/services/reviews.service.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { AuditHistoryPurgedError, effectivePermissionsAsOf, groupMembersAsOf, verifyAudit } from '../../src/services/audit-query.service.js';
import { AuditPurgeRefusedError, purgeWorkspace, runRetention, setRetention } from '../../src/services/audit-retention.service.js';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';
import { addMembers, appendBackdated, asOwnerWithoutTriggers, createGroup, createUser, eventCount, patchGroup, removeMembers, seal, sleep, TEST_SEAL } from './helpers.js';

// Retention: the purge folds old sealed events into a checkpoint, records itself, deletes them
// — and afterwards verify still succeeds, the tree still proves them, and every answer about an
// instant after the cutoff is the same as before the purge.

const DAY = 24 * 3_600_000;
const ctx = await buildAdminTestApp(t);
const { db } = ctx.db;
const system = { type: 'system' as const, id: 'test' };

async function mark(): Promise<Date> {
  await sleep(3);
  const at = new Date();
  await sleep(3);
  return at;
}

async function newWorkspace(): Promise<string> {
  return (await ensureWorkspace(db, `ws-${randomUUID()}`)).workspace.id;
}

const member = (type: 'group.member_added' | 'group.member_removed', groupId: string, userId: string): NewAuditEvent => ({ type, targetType: 'group', targetId: groupId, data: { userId } });
const access = (userId: string, before: string[], after: string[]): NewAuditEvent => ({
  type: 'access.changed',
  targetType: 'user',
  targetId: userId,
  data: { before, after, granted: after.filter((p) => !before.includes(p)), revoked: before.filter((p) => !after.includes(p)) },
});

t.test('purge through the SCIM history: verify holds, answers after the cutoff do not change', async (t) => {
  const a = await createUser(ctx, 'a@example.com');
  const b = await createUser(ctx, 'b@example.com');
  const c = await createUser(ctx, 'c@example.com');
  const group = await createGroup(ctx, 'codex-local-users', [a, b]);
  const tBefore = await mark();
  const other = await createGroup(ctx, 'codex-cloud-users', [c]);
  const cutoff = await mark();
  await patchGroup(ctx, group, [removeMembers([a]), addMembers([c])]);
  const tAfter = await mark();
  await patchGroup(ctx, other, [addMembers([a])]);

  const instants = [cutoff, tAfter, new Date()];
  const answers = async () =>
    Promise.all(
      instants.flatMap((at) => [
        groupMembersAsOf(db, ctx.workspaceId, group, at).then((r) => r.members.map((m) => [m.userId, m.since])),
        groupMembersAsOf(db, ctx.workspaceId, other, at).then((r) => r.members.map((m) => [m.userId, m.since])),
        ...[a, b, c].map((u) => effectivePermissionsAsOf(db, ctx.workspaceId, u, at).then((r) => [r.granted, r.since, r.groups.map((g) => g.groupId)])),
      ]),
    );
  const before = await answers();
  const eventsBefore = await eventCount(db, ctx.workspaceId);
  const earlyAnswer = await groupMembersAsOf(db, ctx.workspaceId, group, tBefore);

  // Small batches: several purge transactions, each recorded.
  const result = await purgeWorkspace(db, ctx.workspaceId, cutoff, { actor: system, maxEvents: 5, seal: TEST_SEAL });
  t.ok(result.batches.length > 1, `${result.batches.length} batches`);
  t.ok(result.deleted > 10);
  t.equal(await eventCount(db, ctx.workspaceId), eventsBefore - result.deleted + result.batches.length, 'deleted events are gone; one audit.purged per batch');
  const remaining = await db.selectFrom('audit_events').select(['occurred_at', 'event_type', 'seq', 'data']).where('workspace_id', '=', ctx.workspaceId).orderBy('seq').execute();
  t.ok(remaining.every((e) => e.event_type === 'audit.purged' || new Date(e.occurred_at).getTime() >= cutoff.getTime()), 'nothing older than the cutoff survives');

  const log = (await findAuditLog(db, ctx.workspaceId))!;
  const last = result.batches[result.batches.length - 1]!;
  t.equal(log.purgedThrough, last.throughSeq);
  t.equal(log.anchorHash, last.anchorHash);
  const purged = remaining.filter((e) => e.event_type === 'audit.purged').pop()!;
  t.match(purged.data, { throughSeq: last.throughSeq, anchorHash: last.anchorHash, before: cutoff.toISOString(), throughAt: String, checkpoint: { members: Number, access: Number, sha256: /^[0-9a-f]{64}$/ } });

  await seal(db);
  const report = await verifyAudit(db, ctx.workspaceId);
  t.match(report, { ok: true, checkpoint: { ok: true, throughSeq: last.throughSeq } });
  t.equal(report.checked, await eventCount(db, ctx.workspaceId), 'every surviving event checked against its leaf');
  t.equal(report.tree.size, report.checked + result.deleted, 'the purged leaves stay in the tree');
  t.same(await answers(), before, 'every answer at or after the cutoff is unchanged');

  const checkpointed = await groupMembersAsOf(db, ctx.workspaceId, group, cutoff);
  t.same(checkpointed.members.map((m) => [m.userId, m.eventId]), [[a, null], [b, null]].sort(), 'memberships older than the cutoff come from the checkpoint');
  t.match(checkpointed.basis, { historyStartsAt: String, checkpointSeq: last.throughSeq });
  t.same(earlyAnswer.members.map((m) => m.userId), [a, b].sort());
  await t.rejects(groupMembersAsOf(db, ctx.workspaceId, group, tBefore), AuditHistoryPurgedError, 'before the kept history: 410, not a guess');
  const gone = await ctx.api('GET', `/users/${a}/effective-permissions/as-of?at=${tBefore.toISOString()}`, { as: 'compliance' });
  t.equal(gone.statusCode, 410);
  t.match(json(gone), { statusCode: 410, error: 'Gone', message: /purged/ });
  const fromCheckpoint = await effectivePermissionsAsOf(db, ctx.workspaceId, a, cutoff);
  t.match(fromCheckpoint, { granted: ['codex_local'], source: 'checkpoint', changedBy: null });
  const roleHolders = await holdersAt(db, ctx.workspaceId, TEST_SEAL, { role: 'Codex Local' }, cutoff);
  t.match(roleHolders.holders.find((h) => h.userId === a), { source: 'checkpoint', grantedBy: null, since: String }, 'a role held at the cutoff: from the checkpoint');

  // Replaying the checkpoint and the surviving member events still gives today's memberships.
  const replayed = await groupMembersAsOf(db, ctx.workspaceId, group, new Date(Date.now() + 1000));
  const current = await db.selectFrom('group_members').select('user_id').where('group_id', '=', group).orderBy('user_id').execute();
  t.same(replayed.members.map((m) => m.userId), current.map((r) => r.user_id).sort());

  const again = await purgeWorkspace(db, ctx.workspaceId, cutoff, { actor: system, seal: TEST_SEAL });
  t.same([again.deleted, again.batches.length], [0, 0], 'nothing left to purge, nothing recorded');
  t.equal((await ctx.api('GET', '/audit/verify', { as: 'owner' })).statusCode, 200);
  t.equal(json(await ctx.api('GET', '/audit/verify', { as: 'owner' })).ok, true);
});

t.test('the checkpoint is written only by the purge, and verify detects tampering with it', async (t) => {
  const ws = await newWorkspace();
  const g = randomUUID();
  const [u1, u2] = [randomUUID(), randomUUID()];
  const old = new Date(Date.now() - 400 * DAY);
  await appendBackdated(db, ws, old, [member('group.member_added', g, u1), access(u1, [], ['codex_local']), member('group.member_added', g, u2)]);
  await appendBackdated(db, ws, new Date(Date.now() - 10 * DAY), [member('group.member_removed', g, u2)]);
  await purgeWorkspace(db, ws, new Date(Date.now() - 30 * DAY), { actor: system, seal: TEST_SEAL });
  t.match(await verifyAudit(db, ws), { ok: true, checkpoint: { ok: true, members: 2, access: 1 } });
  t.same((await groupMembersAsOf(db, ws, g, new Date())).members.map((m) => m.userId), [u1]);

  await t.rejects(sql`insert into audit_checkpoint_members values (${ws}, ${g}, ${randomUUID()}, now())`.execute(db), /written only by the retention purge/);
  await t.rejects(sql`delete from audit_checkpoint_access where workspace_id = ${ws}`.execute(db), /written only by the retention purge/);

  await asOwnerWithoutTriggers(db, (trx) => sql`insert into audit_checkpoint_members values (${ws}, ${g}, ${randomUUID()}, now())`.execute(trx));
  t.match(await verifyAudit(db, ws), { ok: false, checkpoint: { ok: false, problem: 'checkpoint_mismatch' } });

  const ws2 = await newWorkspace();
  await appendBackdated(db, ws2, old, [member('group.member_added', g, u1)]);
  await asOwnerWithoutTriggers(db, (trx) => sql`insert into audit_checkpoint_access values (${ws2}, ${u1}, '{codex_admin}', now())`.execute(trx));
  t.match(await verifyAudit(db, ws2), { ok: false, checkpoint: { ok: false, problem: 'checkpoint_without_purge' } });
});

t.test('a purge refuses to erase a broken link', async (t) => {
  const ws = await newWorkspace();
  const g = randomUUID();
  const old = new Date(Date.now() - 400 * DAY);
  await appendBackdated(db, ws, old, [member('group.member_added', g, randomUUID()), member('group.member_added', g, randomUUID()), member('group.member_added', g, randomUUID())]);
  await appendBackdated(db, ws, new Date(Date.now() - DAY), [member('group.member_added', g, randomUUID())]);
  await seal(db);
  const second = (await db.selectFrom('audit_events').select(['id', 'seq']).where('workspace_id', '=', ws).orderBy('seq').execute())[1]!;
  await asOwnerWithoutTriggers(db, (trx) => trx.updateTable('audit_events').set({ data: JSON.stringify({ userId: 'forged' }) }).where('id', '=', second.id).execute());
  const before = await eventCount(db, ws);
  await t.rejects(purgeWorkspace(db, ws, new Date(Date.now() - 30 * DAY), { actor: system, seal: TEST_SEAL }), AuditPurgeRefusedError);
  t.equal(await eventCount(db, ws), before, 'nothing deleted');
  t.match(await verifyAudit(db, ws), { ok: false, firstBroken: { seq: Number(second.seq), id: second.id, reason: 'leaf_mismatch' } });
  const run = await runRetention(db, { serviceDays: 30, seal: TEST_SEAL });
  t.ok(run.failed.some((f) => f.workspaceId === ws && f.error instanceof AuditPurgeRefusedError), 'the scheduled run reports it and goes on');
});

t.test('retention settings: per workspace over the service default; keep-everything wins', async (t) => {
  const [keep, days, inherit] = [await newWorkspace(), await newWorkspace(), await newWorkspace()];
  const g = randomUUID();
  for (const ws of [keep, days, inherit]) {
    await appendBackdated(db, ws, new Date(Date.now() - 400 * DAY), [member('group.member_added', g, randomUUID())]);
    await appendBackdated(db, ws, new Date(Date.now() - 50 * DAY), [member('group.member_added', g, randomUUID())]);
  }
  const audit = (ws: string): AuditContext => ({ workspaceId: ws, actor: system });
  await setRetention(db, audit(keep), null, 30);
  await setRetention(db, audit(days), 100, 30);
  const run = await runRetention(db, { serviceDays: 30, seal: TEST_SEAL });
  const deleted = (ws: string) => run.purged.find((p) => p.workspaceId === ws)?.deleted ?? 0;
  t.equal(deleted(keep), 0, 'null keeps everything');
  t.equal(deleted(days), 1, 'own 100 days: the 400-day-old event');
  t.equal(deleted(inherit), 2, 'service default 30 days: both');
  for (const ws of [keep, days, inherit]) t.equal((await verifyAudit(db, ws)).ok, true);
  const settingEvents = await db.selectFrom('audit_events').select('data').where('workspace_id', '=', keep).where('event_type', '=', 'workspace.settings_changed').execute();
  t.equal(settingEvents.length, 1, 'the setting change is recorded');
  const none = await runRetention(db, { serviceDays: undefined, seal: TEST_SEAL });
  t.notOk(none.purged.some((p) => [keep, days, inherit].includes(p.workspaceId)), 'default: keep everything');
});

t.test('purges, appends and verifies running at once', async (t) => {
  const ws = await newWorkspace();
  const g = randomUUID();
  for (let i = 0; i < 20; i++) {
    await appendBackdated(db, ws, new Date(Date.now() - (400 - i) * DAY), Array.from({ length: 10 }, () => member('group.member_added', g, randomUUID())));
  }
  // On PostgreSQL a second pool: another service instance.
  const other = ctx.db.dialect === 'postgres' && ctx.db.databaseUrl ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(ctx.db.databaseUrl, 4) }) }) : db;
  t.teardown(() => (other !== db ? other.destroy() : undefined));
  let purging = true;
  const verifies: boolean[] = [];
  const verifier = (async () => {
    while (purging) {
      verifies.push((await verifyAudit(other as Db, ws, { pageSize: 7 })).ok);
      await sleep(1);
    }
  })();
  const appenders = Promise.all(
    Array.from({ length: 6 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 5; i++) {
          await (w % 2 ? other : db).transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: `w${w}` } }, [member('group.member_added', g, randomUUID())]));
          await sleep(2);
        }
      })(),
    ),
  );
  const purge = purgeWorkspace(db, ws, new Date(Date.now() - 100 * DAY), { actor: system, maxEvents: 15, seal: TEST_SEAL });
  const [result] = await Promise.all([purge, appenders]);
  purging = false;
  await verifier;
  t.equal(result.deleted, 200);
  t.ok(verifies.length > 0 && verifies.every(Boolean), `${verifies.length} verifies during the purge all succeeded`);
  const report = await verifyAudit(db, ws);
  t.match(report, { ok: true, checkpoint: { ok: true, members: 200 } });
  t.equal(report.tree.size, report.checked + 200, 'the 200 purged events stay leaves of the tree');
  t.equal((await groupMembersAsOf(db, ws, g, new Date(), { limit: 1000 })).members.length, 230);
});

t.test('the scheduled purge: runs on its timer, stops on close', async (t) => {
  const ws = (await ensureWorkspace(db, `scheduled-${randomUUID()}`)).workspace.id;
  await appendBackdated(db, ws, new Date(Date.now() - 400 * DAY), [member('group.member_added', randomUUID(), randomUUID())]);
  await setRetention(db, { workspaceId: ws, actor: system }, 30, undefined);
  const app = Fastify({ logger: false });
  await app.register(databasePlugin, { config: testConfig(), database: { ...ctx.db, close: async () => {} } });
  await app.register(auditSealerPlugin, { config: testConfig() });
  await app.register(auditRetentionPlugin, { config: testConfig(), firstDelayMs: 20, intervalMs: 40 });
  await app.ready();
  const purgedEvents = async () =>
    Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', ws).where('event_type', '=', 'audit.purged').executeTakeFirstOrThrow()).n);
  for (let i = 0; i < 200 && (await purgedEvents()) === 0; i++) await sleep(25);
  t.equal(await purgedEvents(), 1, 'purged by the timer');
  await app.runAuditRetention();
  t.equal(await purgedEvents(), 1, 'idempotent: nothing more to purge');
  await app.close();
  const later = (await ensureWorkspace(db, `after-close-${randomUUID()}`)).workspace.id;
  await appendBackdated(db, later, new Date(Date.now() - 400 * DAY), [member('group.member_added', randomUUID(), randomUUID())]);
  await setRetention(db, { workspaceId: later, actor: system }, 30, undefined);
  await sleep(200);
  const laterPurges = await db.selectFrom('audit_events').select('id').where('workspace_id', '=', later).where('event_type', '=', 'audit.purged').execute();
  t.equal(laterPurges.length, 0, 'no run after close');
  t.equal((await verifyAudit(db, ws)).ok, true);
});
