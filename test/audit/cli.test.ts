import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../../src/cli/program.js';
import { testConfig } from '../../src/config/index.js';
import type { ExportRecord } from '../../src/services/audit-export.service.js';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';
import { addMembers, asOwnerWithoutTriggers, createGroup, createUser, patchGroup, sleep } from './helpers.js';
import { fromRoot } from '../helpers/paths.js';

// `codex-scim audit export | verify | retention | purge`, and verify's API twin: tampering is
// reported with the first broken link (exit 1 on the command line).

const ctx = await buildAdminTestApp(t);
const { db } = ctx.db;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in-process, on the test's own database (left open for the next run). */
async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    loadConfig: () => testConfig(),
    openDb: async () => ({ ...ctx.db, close: async () => {} }),
  });
  return { code, stdout, stderr };
}

/** The event records of an export, without its checkpoint lines (one per workspace). */
const records = (text: string): ExportRecord[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ExportRecord & { checkpoint?: unknown })
    .filter((r) => !r.checkpoint);

const t0 = new Date();
await sleep(2);
const alice = await createUser(ctx, 'alice@example.com');
const bob = await createUser(ctx, 'bob@example.com');
const group = await createGroup(ctx, 'codex-cloud-users', [alice]);
await patchGroup(ctx, group, [addMembers([bob])]);
await sleep(2);
const t1 = new Date();

t.test('export: JSONL of a time range on stdout, count on stderr', async (t) => {
  const res = await cli('audit', 'export', '--since', t0.toISOString(), '--until', t1.toISOString(), '--workspace', 'test');
  t.equal(res.code, 0, res.stderr);
  const out = records(res.stdout);
  const stored = await db
    .selectFrom('audit_events')
    .select('id')
    .where('workspace_id', '=', ctx.workspaceId)
    .where('occurred_at', '>=', t0)
    .where('occurred_at', '<', t1)
    .orderBy('seq')
    .execute();
  t.same(out.map((r) => r.id), stored.map((r) => r.id));
  t.ok(out.length >= 6, `${out.length} events`);
  t.ok(out.every((r) => r.workspace.id === ctx.workspaceId && r.workspace.name === 'test'));
  t.match(res.stderr, `Exported ${out.length} audit events`);
  t.ok(out.some((r) => r.type === 'group.member_added' && (r.details as { userId?: string }).userId === bob));

  const everything = await cli('audit', 'export', '--since', '2000-01-01');
  t.equal(everything.code, 0);
  const all = records(everything.stdout);
  t.ok(new Set(all.map((r) => r.workspace.name)).size >= 2, 'every workspace, one after the other');
  t.equal(new Set(all.map((r) => r.id)).size, all.length);

  // A command line that does not parse exits 2; a range that parses but is empty of sense, 1.
  const bad: Array<[string[], number]> = [
    [['--until', t1.toISOString()], 2],
    [['--since', 'yesterday'], 2],
    [['--since', t1.toISOString(), '--until', t0.toISOString()], 1],
  ];
  for (const [args, code] of bad) {
    const r = await cli('audit', 'export', ...args);
    t.equal(r.code, code, args.join(' '));
    t.equal(r.stdout, '');
  }
});

t.test('verify: ok, then tampering names the first broken link (CLI exit 1, API ok=false)', async (t) => {
  const ok = await cli('audit', 'verify', '--workspace', 'test');
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^WORKSPACE\s+RESULT\s+CHECKED/);
  t.match(ok.stdout, /test\s+ok\s+\d+/);
  const asJson = await cli('audit', 'verify', '--json');
  t.equal(asJson.code, 0);
  t.ok(JSON.parse(asJson.stdout).every((r: { ok: boolean }) => r.ok));

  const target = await db
    .selectFrom('audit_events')
    .select(['id', 'seq'])
    .where('workspace_id', '=', ctx.workspaceId)
    .where('event_type', '=', 'group.member_added')
    .orderBy('seq')
    .executeTakeFirstOrThrow();
  await asOwnerWithoutTriggers(db, (trx) => trx.updateTable('audit_events').set({ data: JSON.stringify({ userId: bob }) }).where('id', '=', target.id).execute());

  const broken = await cli('audit', 'verify', '--workspace', 'test');
  t.equal(broken.code, 1);
  t.match(broken.stdout, `broken at seq ${target.seq} (event ${target.id}): leaf_mismatch`);
  t.match(broken.stderr, `audit log of workspace "test" is broken at seq ${target.seq} (event ${target.id}): leaf_mismatch`);
  const all = await cli('audit', 'verify');
  t.equal(all.code, 1, 'one broken workspace fails the whole run');
  t.match(all.stdout, /default\s+ok/);

  const api = await ctx.api('GET', '/audit/verify', { as: 'compliance' });
  t.equal(api.statusCode, 200);
  t.match(json(api), { ok: false, firstBroken: { seq: Number(target.seq), id: target.id, reason: 'leaf_mismatch' } });

  const refused = await cli('audit', 'purge', '--workspace', 'test', '--before', new Date(Date.now() + 60_000).toISOString());
  t.equal(refused.code, 1);
  t.match(refused.stderr, /does not match its leaf.*nothing was purged/);
});

t.test('retention and purge from the command line', async (t) => {
  const ws = 'cli-retention';
  t.equal((await cli('workspace', 'create', ws)).code, 0);
  t.equal((await cli('audit', 'retention', '--workspace', ws)).stdout, 'kept forever (default)\n');
  const set = await cli('audit', 'retention', '--workspace', ws, '--days', '90');
  t.equal(set.code, 0, set.stderr);
  t.equal(set.stdout, 'kept 90 days (workspace)\n');
  t.equal((await cli('audit', 'retention', '--workspace', ws, '--days', '0')).code, 2, 'an invalid argument is a usage error');
  t.equal((await cli('audit', 'retention', '--workspace', ws, '--days', '5', '--keep-all')).code, 1);
  t.equal((await cli('audit', 'retention', '--workspace', ws, '--keep-all')).stdout, 'kept forever (workspace)\n');
  const keep = await cli('audit', 'purge', '--workspace', ws);
  t.equal(keep.code, 1);
  t.match(keep.stderr, /keeps every audit event/);

  const purge = await cli('audit', 'purge', '--workspace', ws, '--before', new Date(Date.now() + 1000).toISOString());
  t.equal(purge.code, 0, purge.stderr);
  t.match(purge.stderr, /Purged \d+ audit events/);
  const verify = await cli('audit', 'verify', '--workspace', ws, '--json');
  t.equal(verify.code, 0);
  t.match(JSON.parse(verify.stdout)[0], { ok: true, checkpoint: { ok: true } });
  const purged = await cli('audit', 'export', '--since', '2000-01-01', '--workspace', ws);
  const last = records(purged.stdout).pop()!;
  t.match(last, { type: 'audit.purged', actor: { type: 'cli' } });
});

t.test('the installed command, as a separate process, exports to a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-audit-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'LOG_LEVEL', 'NODE_OPTIONS']) delete env[name];
  if (ctx.db.databaseUrl) env.DATABASE_URL = ctx.db.databaseUrl;
  else env.DATA_DIR = join(dir, 'data');
  const file = join(dir, 'audit.jsonl');
  const bin = fromRoot('bin/codex-scim.js');
  const run = (args: string[], toFile?: string) =>
    new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const written = toFile ? new Promise<void>((done) => child.stdout.pipe(createWriteStream(toFile)).on('finish', () => done())) : child.stdout.resume();
      child.stderr.resume();
      child.on('error', reject);
      child.on('close', (code) => void Promise.resolve(written).then(() => resolve(code)));
    });
  // Something to export in the default workspace: creating a token is audited.
  t.equal(await run(['token', 'create', '--workspace', 'default', '--scope', 'scim', '--description', 'audit export test']), 0);
  const code = await run(['audit', 'export', '--since', '2000-01-01', '--workspace', 'default'], file);
  t.equal(code, 0);
  const out = records(readFileSync(file, 'utf8'));
  t.ok(out.length > 0 && out.every((r) => r.workspace.name === 'default'), `${out.length} records in the file`);
});
