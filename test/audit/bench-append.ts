// Quick measure of appendAuditEvents at PUT scale (not a test; run on demand):
//   TEST_DB=pglite npx tsx test/audit/bench-append.ts [members]
//   TEST_DB=postgres TEST_DATABASE_URL=postgres://… npx tsx test/audit/bench-append.ts [members]
// A 50,000-member PUT emits one group.member_added per member and one access.changed per user
// (causeId → the member event): 100,000 events in one call, one transaction.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type Transaction } from 'kysely';
import type { NewAuditEvent } from '../../src/audit/types.js';
import type { Database } from '../../src/db/types.js';
import { appendAuditEvents, newAuditEventId } from '../../src/repositories/audit.repository.js';
import { sealPending } from '../../src/audit/sealer.js';
import { verifyAuditLog } from '../../src/services/audit-verify.service.js';
import { createTestDb } from '../helpers/db.js';

const members = Number(process.argv[2] ?? 50_000);
const teardowns: (() => unknown)[] = [];
const { db, workspaceId, dialect } = await createTestDb({ teardown: (fn) => teardowns.push(fn) }, 'bench');

function putEvents(groupId: string): NewAuditEvent[] {
  const events: NewAuditEvent[] = [];
  for (let i = 0; i < members; i++) {
    const userId = randomUUID();
    const memberEvent = newAuditEventId();
    events.push({ id: memberEvent, type: 'group.member_added', targetType: 'group', targetId: groupId, data: { userId, reason: 'put' } });
    events.push({
      type: 'access.changed',
      targetType: 'user',
      targetId: userId,
      causeId: memberEvent,
      data: { before: [], after: ['codex_cloud', 'codex_local'], granted: ['codex_cloud', 'codex_local'], revoked: [] },
    });
  }
  return events;
}

/** CPU seconds of this connection's server process (local PostgreSQL only): wall time lies on a busy machine. */
async function backendCpuMs(trx: Transaction<Database>): Promise<() => number> {
  if (dialect !== 'postgres') return () => NaN;
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
  const read = () => {
    try {
      const f = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      return NaN;
    }
  };
  const start = read();
  return () => read() - start;
}

const ctx = { workspaceId, actor: { type: 'scim' as const, id: randomUUID(), display: 'Okta' }, requestId: 'req-bench' };
const rows: string[][] = [];
for (let run = 1; run <= 3; run++) {
  const events = putEvents(randomUUID());
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let serverMs = NaN;
  await db.transaction().execute(async (trx) => {
    const serverCpu = await backendCpuMs(trx);
    await appendAuditEvents(trx, ctx, events);
    serverMs = serverCpu();
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  rows.push([
    `append run ${run}`,
    `${events.length}`,
    `${ms.toFixed(0)} ms`,
    `${Math.round(events.length / (ms / 1000))} events/s`,
    `node cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, server cpu ${serverMs.toFixed(0)} ms`,
  ]);
}
const small = await (async () => {
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    await db.transaction().execute((trx) =>
      appendAuditEvents(trx, ctx, [{ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } }]),
    );
  }
  return (performance.now() - t0) / 200;
})();
rows.push(['append 1 event (tx)', '1', `${small.toFixed(2)} ms`, '']);
const s0 = performance.now();
const sealed = await sealPending(db, { origin: 'bench' });
const sms = performance.now() - s0;
rows.push(['seal', `${sealed}`, `${sms.toFixed(0)} ms`, `${Math.round(sealed / (sms / 1000))} events/s`]);
const t0 = performance.now();
const result = await verifyAuditLog(db, workspaceId);
const vms = performance.now() - t0;
rows.push(['verify', `${result.checked}`, `${vms.toFixed(0)} ms`, `${Math.round(result.checked / (vms / 1000))} events/s`]);
const size = await sql<{ size: string }>`select pg_size_pretty(pg_total_relation_size('audit_events')) as size`.execute(db);

console.log(`dialect=${dialect} members=${members} ok=${result.ok} table+indexes=${size.rows[0]?.size} load=${loadavg()[0]!.toFixed(1)}`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
for (const fn of teardowns.reverse()) await fn();
