import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sealPending } from '../../src/audit/sealer.js';
import { testConfig, type WebhookConfig } from '../../src/config/index.js';
import { createDb, type Db } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { commit } from '../../src/services/commit.js';
import { createWebhook } from '../../src/services/webhooks.service.js';
import { startWebhookWorker } from '../../src/webhooks/worker.js';
import { createTestDb, testDialect } from '../helpers/db.js';
import { startReceiver } from './receiver.js';
import { fromRoot } from '../helpers/paths.js';

// kill -9 of the service in the middle of a delivery loses nothing: the service (dist/, as
// deployed) is killed while the receiver holds its first request open; another worker takes
// the endpoint over once the lease lapses and sends that delivery again, with the same
// webhook-id, then the rest, in order. Needs `npm run build` (npm test builds first).

const EVENTS = 12;
const TIMEOUT_MS = 1000;
const SERVER = fromRoot('dist/src/server.js');

t.test('a service killed with SIGKILL mid-delivery loses nothing', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const dir = mkdtempSync(join(tmpdir(), 'bridge-webhook-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // PostgreSQL: this file's database. PGlite: a data directory the child opens after we let go.
  const testDb = testDialect === 'postgres' ? await createTestDb(t) : undefined;
  const open = async () => (testDb ? { db: testDb.db as Db, close: async () => {} } : await createDb({ dataDir: join(dir, 'data') }));

  let handle = await open();
  await migrateToLatest(handle.db);
  const workspaceId = (await ensureWorkspace(handle.db, `kill-${randomUUID()}`)).workspace.id;
  const audit = { workspaceId, actor: { type: 'system' as const, id: 'test' } };
  const config: WebhookConfig = { ...testConfig().webhooks, timeoutMs: TIMEOUT_MS, pollIntervalMs: 25, retryBaseMs: 20, retryMaxMs: 200 };
  await createWebhook(handle.db, audit, config, { url: receiver.url, eventTypes: ['user.*'] });
  const userId = randomUUID();
  for (let i = 0; i < EVENTS; i++) {
    await handle.db.transaction().execute((trx) => commit(trx, audit, [{ type: 'user.updated', targetType: 'user', targetId: userId, data: { userName: `u${i}`, changes: {} } }]));
  }
  const expected = (await handle.db.selectFrom('audit_events').select('id').where('workspace_id', '=', workspaceId).where('event_type', '=', 'user.updated').orderBy('seq').execute()).map((r) => r.id);
  await handle.close();

  receiver.script(['stall'], 'ok');
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATABASE_URL: testDb?.databaseUrl ?? '',
      DATA_DIR: join(dir, 'data'),
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), // it is killed long before it would give up
      WEBHOOK_POLL_INTERVAL_MS: '25',
      AUDIT_SEAL_INTERVAL_MS: '50',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  await receiver.until(() => receiver.received.length === 1, 60_000);
  child.kill('SIGKILL');
  await exited;
  t.equal(receiver.accepted().length, 0, 'killed while its first delivery was in flight, unanswered');

  handle = await open();
  t.teardown(() => handle.close());
  await sealPending(handle.db, { origin: 'kill-test' });
  const worker = startWebhookWorker(handle.db, config, (error) => t.fail(String(error)));
  t.teardown(() => worker.stop());
  // The child's lease (2 × its timeout + 1 s) has to lapse first.
  await receiver.until(() => new Set(receiver.accepted()).size === EVENTS, 120_000);
  t.same([...new Set(receiver.accepted())], expected, 'every event accepted, in order');
  t.equal(receiver.received[0]!.id, expected[0], 'the killed delivery was the first event');
  t.equal(receiver.accepted()[0], expected[0], 'and it was sent again with the same webhook-id');
  // The receiver answers before the worker records the answer: wait for the last record.
  const pending = async () => (await handle.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'pending').execute()).length;
  for (let i = 0; i < 200 && (await pending()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  t.equal(await pending(), 0, 'nothing left pending');
});
