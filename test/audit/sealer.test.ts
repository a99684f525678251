import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Kysely, PostgresDialect, sql } from 'kysely';
import t from 'tap';
import { rootFromInclusion, verifyConsistency } from '../../src/audit/merkle.js';
import { sealPending, startSealer } from '../../src/audit/sealer.js';
import type { NewAuditEvent } from '../../src/audit/types.js';
import { createDb, createPool, type Db } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { appendAuditEvents } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { consistencyProof, findAuditLog, inclusionProof } from '../../src/services/audit-log.service.js';
import { verifyAuditLog } from '../../src/services/audit-verify.service.js';
import { createTestDb, scaled } from '../helpers/db.js';
import { TEST_SEAL } from './helpers.js';
import { fromRoot } from '../helpers/paths.js';

// The sealer under concurrency: random writers — some rolling back, some holding
// their transaction open — and sealers running at the same time (several pools on PostgreSQL,
// as several service instances would be). Whatever the interleaving, every committed event is
// sealed exactly once, in seq order, rolled-back ones never, and every proof verifies. And a
// sealer killed with SIGKILL mid-batch leaves nothing half-sealed.

const test = await createTestDb(t, 'sealer');
const { db, dialect, databaseUrl } = test;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const b64 = (s: string) => Buffer.from(s, 'base64');

const pools: Db[] = [];
t.teardown(async () => {
  for (const pool of pools) await pool.destroy();
});
/** Another service instance's connection pool (PostgreSQL), or the one PGlite. */
function instance(): Db {
  if (dialect !== 'postgres' || !databaseUrl) return db;
  const other = new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(databaseUrl, 4) }) });
  pools.push(other);
  return other;
}

const writeArb = fc.record({
  workspace: fc.integer({ min: 0, max: 2 }),
  events: fc.integer({ min: 1, max: 6 }),
  rollback: fc.boolean(),
  holdMs: fc.integer({ min: 0, max: 8 }),
});

t.test('random concurrent writers and sealers: each committed event sealed once, in order, provable (property)', async (t) => {
  const sealerDbs = dialect === 'postgres' ? [instance(), instance(), instance()] : [db];
  const writerDbs = dialect === 'postgres' ? [db, instance()] : [db];
  let round = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(writeArb, { minLength: 5, maxLength: scaled(40, 20) }), async (writes) => {
      round++;
      const workspaces = await Promise.all([0, 1, 2].map(async (i) => (await ensureWorkspace(db, `prop-${round}-${i}-${randomUUID()}`)).workspace.id));
      const committed = new Map<string, string>(); // event id → workspace
      const rolledBack = new Set<string>();
      const sealers = sealerDbs.map((sdb) => startSealer(sdb, { ...TEST_SEAL, intervalMs: 3, batchSize: 7, onError: (e) => t.fail(String(e)) }));
      const checkpoints: Array<{ ws: string; size: number; root: string }> = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const ws of workspaces) {
            const log = await findAuditLog(db, ws);
            if (log?.rootHash) checkpoints.push({ ws, size: log.treeSize, root: log.rootHash.toString('base64') });
          }
          await sleep(2);
        }
      })();
      await Promise.all(
        writes.map(async (w, i) => {
          const wdb = writerDbs[i % writerDbs.length]!;
          await sleep(i % 4);
          const ws = workspaces[w.workspace]!;
          const events: NewAuditEvent[] = Array.from({ length: w.events }, () => ({ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } }));
          const ids = await wdb
            .transaction()
            .execute(async (trx) => {
              const ids = await appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: `w${i}` } }, events);
              await sleep(w.holdMs);
              if (w.rollback) throw Object.assign(new Error('rolled back'), { ids });
              return ids;
            })
            .catch((error: Error & { ids?: string[] }) => {
              for (const id of error.ids ?? []) rolledBack.add(id);
              return [];
            });
          for (const id of ids) committed.set(id, ws);
        }),
      );
      await Promise.all(sealers.map((s) => s.stop()));
      watching = false;
      await watcher;
      await sealPending(db, TEST_SEAL);

      for (const ws of workspaces) {
        const rows = await db.selectFrom('audit_events').select(['id', 'seq', 'leaf_index']).where('workspace_id', '=', ws).orderBy('seq').execute();
        const expected = [...committed].filter(([, w]) => w === ws).map(([id]) => id);
        if (rows.length !== expected.length || rows.some((r) => rolledBack.has(r.id))) throw new Error(`${rows.length} events stored, ${expected.length} committed`);
        // Sealed exactly once each, leaves 0..n-1 in seq order.
        if (!rows.every((r, i) => Number(r.leaf_index) === i)) throw new Error(`leaves ${rows.map((r) => r.leaf_index).join(',')} in seq order`);
        const log = await findAuditLog(db, ws);
        if ((log?.treeSize ?? 0) !== rows.length) throw new Error(`tree of ${log?.treeSize}, ${rows.length} events`);
        if (rows.length === 0) continue;
        const { log: _log, ...verified } = await verifyAuditLog(db, ws);
        if (!verified.ok) throw new Error(`verify: ${JSON.stringify(verified.firstBroken)}`);
        const pick = rows[Math.floor(rows.length / 2)]!;
        const proof = await inclusionProof(db, ws, pick.id, undefined, TEST_SEAL);
        if (!rootFromInclusion(proof.leafIndex, proof.treeSize, b64(proof.leafHash), proof.proof.map(b64))?.equals(log!.rootHash!)) throw new Error('inclusion proof');
        // Every root seen while the writers ran is a prefix of the final tree.
        for (const seen of checkpoints.filter((c) => c.ws === ws)) {
          const c = await consistencyProof(db, ws, seen.size, undefined, TEST_SEAL);
          if (c.fromRootHash !== seen.root || !verifyConsistency(seen.size, c.to, b64(seen.root), b64(c.toRootHash), c.proof.map(b64))) throw new Error(`root of ${seen.size} seen during the run is not a prefix`);
        }
      }
      return true;
    }),
    { numRuns: scaled(12, 4), seed: 1101 },
  );
  t.pass(`${round} random rounds`);
});

t.test('a sealer killed with SIGKILL mid-batch leaves all or nothing, and the next one completes it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-sealer-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // PGlite: a database directory of its own that the child opens after this process lets go of it.
  const pgliteDir = join(dir, 'data');
  const open = async () => (dialect === 'postgres' ? { db, close: async () => {} } : await createDb({ dataDir: pgliteDir }));
  let handle = await open();
  await migrateToLatest(handle.db);
  const ws = (await ensureWorkspace(handle.db, `kill-${randomUUID()}`)).workspace.id;
  const total = scaled(40_000, dialect === 'pglite' ? 4_000 : 6_000);
  const group = randomUUID();
  for (let i = 0; i < total; i += 2_000) {
    const events: NewAuditEvent[] = Array.from({ length: 2_000 }, () => ({ type: 'group.member_added', targetType: 'group', targetId: group, data: { userId: randomUUID() } }));
    await handle.db.transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: 'bulk' } }, events));
  }
  await handle.close();

  const child = spawn(process.execPath, [fromRoot('test/audit/fixtures/sealer-child.mjs')], {
    env: { ...process.env, CHILD_DATABASE_URL: databaseUrl ?? '', CHILD_DATA_DIR: pgliteDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((output += d.toString()), output.includes('sealing') && resolve())));
  // Kill it once its batch is under way: on PostgreSQL, when its UPDATE of the events is running.
  for (let i = 0; i < 200 && dialect === 'postgres'; i++) {
    const busy = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query like '%update audit_events e set leaf_index%' and state = 'active' and pid <> pg_backend_pid()`.execute(db);
    if ((busy.rows[0]?.n ?? 0) > 0) break;
    await sleep(5);
  }
  if (dialect === 'pglite') await sleep(300);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  t.notMatch(output, 'sealed', 'killed before it finished');

  handle = await open();
  t.teardown(() => handle.close());
  const leaves = await handle.db.selectFrom('audit_events').select((eb) => eb.fn.count<number>('leaf_index').as('n')).where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  const log = await findAuditLog(handle.db, ws);
  t.equal(Number(leaves.n), log?.treeSize ?? 0, 'exactly the leaves the tree holds are marked sealed: nothing half done');
  await sealPending(handle.db, TEST_SEAL);
  const { log: after, ...verified } = await verifyAuditLog(handle.db, ws);
  t.equal(after?.treeSize, total, 'the next sealer sealed the rest');
  t.same(verified, { ok: true, checked: total });
});
