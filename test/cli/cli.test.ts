import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { cliActor } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';
import { loadConfig, testConfig, type Config } from '../../src/config/index.js';
import { createDb, type Db, type DbHandle } from '../../src/db/index.js';
import { acquireDataDirLock } from '../../src/db/pglite-lock.js';
import { authenticateScimToken, hashToken } from '../../src/services/tokens.service.js';
import { testDialect } from '../helpers/db.js';
import { fromRoot } from '../helpers/paths.js';

// The command as operators and scripts run it: `node bin/codex-scim.js ...` in a child process,
// against a fresh PGlite data directory or a fresh PostgreSQL database (TEST_DB=postgres).
// Each spawn costs about a second, so cases that need no separate process call runCli in-process.

const BIN = fromRoot('bin/codex-scim.js');
const TOKEN_LINE = /^csb_[A-Za-z0-9_-]{43}\n$/;
const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dataDir = mkdtempSync(join(tmpdir(), 'bridge-cli-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

async function postgresDatabase(): Promise<string> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `bridge_cli_${randomBytes(6).toString('hex')}`;
  const admin = () => new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: server, max: 1 }) }) });
  const db = admin();
  await sql.raw(`create database ${name}`).execute(db);
  await db.destroy();
  t.teardown(async () => {
    const drop = admin();
    await sql.raw(`drop database if exists ${name} with (force)`).execute(drop);
    await drop.destroy();
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

const databaseUrl = testDialect === 'postgres' ? await postgresDatabase() : undefined;
const config: Config = testConfig({ dataDir, databaseUrl });

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The child must see only this test's database; NODE_OPTIONS would carry the test runner's hooks.
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'LOG_LEVEL', 'NODE_OPTIONS']) delete env[name];
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else env.DATA_DIR = dataDir;
  return env;
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// In-process runs share one open database: opening PGlite costs as much as the query. Opened only
// after the spawning cases, because PGlite admits one process at a time.
let shared: DbHandle | undefined;
t.teardown(() => shared?.close());

async function sharedDb(): Promise<DbHandle> {
  shared ??= await createDb(config);
  return shared;
}

/** runCli in this process, for cases where a separate process proves nothing more. */
async function inProcess(args: string[], load: () => Config = () => config): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    loadConfig: load,
    openDb: async (c) => (c === config ? { ...(await sharedDb()), close: async () => {} } : createDb(c)),
  });
  return { code, stdout, stderr };
}

/** The database for a direct check between spawns, closed again so the next child can open it. */
async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const handle = await createDb(config);
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

/** Every file of the data directory with its size, mtime and content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const stat = statSync(path);
        out[path] = `${stat.size}:${stat.mtimeMs}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

let workspaceId = '';
let token = '';
let tokenId = '';

t.test('on a fresh database, migrate prints the applied migrations and creates the default workspace', async (t) => {
  const migrated = await cli('migrate');
  t.equal(migrated.code, 0, migrated.stderr);
  t.match(migrated.stdout, /^2026112101_core\n2026112102_audit\n/, 'applied names, one a line, in order');
  t.match(migrated.stdout, /^([0-9]{10}_[a-z0-9_]+\n)+$/, 'nothing but the names');
  t.equal(migrated.stderr, 'Created workspace "default"\n');
});

t.test('workspace create prints the id alone', async (t) => {
  const created = await cli('workspace', 'create', 'acme');
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, UUID_LINE);
  t.equal(created.stderr, 'Created workspace "acme"\n');
  workspaceId = created.stdout.trim();
});

t.test('token create prints exactly the token line; it authenticates for its workspace', async (t) => {
  const created = await cli('token', 'create', '--workspace', 'acme', '--scope', 'scim', '--description', 'Okta prod', '--expires-in-days', '30');
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, TOKEN_LINE, 'stdout is the token and a newline, nothing else');
  t.match(created.stderr, /Created scim token [0-9a-f-]{36} for workspace "acme", expiring /);
  t.notMatch(created.stderr, created.stdout.trim(), 'the secret is not repeated on stderr');
  token = created.stdout.trim();

  await withDb(async (db) => {
    const auth = await authenticateScimToken(db, token);
    t.equal(auth?.workspaceId, workspaceId);
    tokenId = auth!.tokenId;
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', tokenId).executeTakeFirstOrThrow();
    t.equal(row.token_hash, hashToken(token));
    t.ok(row.expires_at && row.expires_at.getTime() > Date.now() + 29 * 86_400_000);
  });
});

t.test('token revoke revokes; the token stops working', async (t) => {
  const revoked = await cli('token', 'revoke', tokenId);
  t.equal(revoked.code, 0, revoked.stderr);
  t.equal(revoked.stdout, '');
  t.equal(revoked.stderr, `Revoked token ${tokenId}\n`);
  await withDb(async (db) => t.equal(await authenticateScimToken(db, token), undefined));
});

t.test('on PGlite, a data directory held by another process is refused and left untouched', { skip: databaseUrl ? 'PGlite only' : false }, async (t) => {
  const release = await acquireDataDirLock(dataDir);
  t.teardown(release);
  const before = snapshot(dataDir);
  const result = await cli('token', 'create', '--workspace', 'acme', '--scope', 'scim');
  t.equal(result.code, 1);
  t.equal(result.stdout, '');
  t.match(result.stderr, new RegExp(`^error: The embedded database in .* is in use by process ${process.pid} .*\\n$`));
  t.same(snapshot(dataDir), before, 'no file of the data directory changed');
});

t.test('token list --json shows metadata, never the secret or hash', async (t) => {
  const list = await inProcess(['token', 'list', '--workspace', workspaceId, '--json']);
  t.equal(list.code, 0, list.stderr);
  t.notOk(list.stdout.includes(token));
  t.notOk(list.stdout.includes(hashToken(token)));
  const tokens = JSON.parse(list.stdout) as Record<string, unknown>[];
  t.equal(tokens.length, 1);
  t.match(tokens[0], { id: tokenId, workspace: 'acme', workspaceId, scope: 'scim', status: 'revoked', description: 'Okta prod' });
  t.type(tokens[0]?.revokedAt, 'string');
  t.type(tokens[0]?.lastUsedAt, 'string', 'the authentication after creation was recorded');
});

t.test('revoking twice is fine; the table shows the revoked token', async (t) => {
  const again = await inProcess(['token', 'revoke', tokenId]);
  t.equal(again.code, 0, 'revoking twice is not an error');
  t.equal(again.stdout, '');
  t.match(again.stderr, `Token ${tokenId} was already revoked at `);

  const table = await inProcess(['token', 'list']);
  t.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+WORKSPACE\s+SCOPE\s+STATUS\s+CREATED\s+LAST USED\s+EXPIRES\s+DESCRIPTION$/);
  t.match(lines.find((l) => l.startsWith(tokenId)), /acme\s+scim\s+revoked\s+.*Okta prod$/);
});

t.test('workspace list; a duplicate workspace name is refused', async (t) => {
  const list = await inProcess(['workspace', 'list', '--json']);
  t.equal(list.code, 0, list.stderr);
  t.same((JSON.parse(list.stdout) as { name: string }[]).map((w) => w.name).sort(), ['acme', 'default']);

  const duplicate = await inProcess(['workspace', 'create', 'acme']);
  t.equal(duplicate.code, 1);
  t.equal(duplicate.stdout, '');
  t.equal(duplicate.stderr, `error: A workspace named "acme" already exists (id ${workspaceId})\n`);
});

t.test('changes are audited with the operating-system user as the actor', async (t) => {
  const { db } = await sharedDb();
  const events = await db
    .selectFrom('audit_events')
    .select(['event_type', 'target_id', 'actor_type', 'actor_id'])
    .where('actor_type', '=', 'cli')
    .orderBy('occurred_at')
    .orderBy('seq')
    .execute();
  const actorId = cliActor().id;
  t.match(events, [
    { event_type: 'workspace.created', actor_id: actorId },
    { event_type: 'workspace.created', target_id: workspaceId, actor_id: actorId },
    { event_type: 'token.created', target_id: tokenId, actor_id: actorId },
    { event_type: 'token.revoked', target_id: tokenId, actor_id: actorId },
  ]);
  t.equal(events.length, 4, 'the second revocation wrote nothing');
});

t.test('token rotate prints the new token alone; the old one works for the overlap', async (t) => {
  const created = await inProcess(['token', 'create', '--workspace', workspaceId, '--scope', 'scim', '--description', 'to rotate']);
  t.equal(created.code, 0, created.stderr);
  const oldToken = created.stdout.trim();
  const db = (await sharedDb()).db;
  const oldId = (await authenticateScimToken(db, oldToken))!.tokenId;
  const rotated = await inProcess(['token', 'rotate', oldId, '--overlap-seconds', '120']);
  t.equal(rotated.code, 0, rotated.stderr);
  const newToken = rotated.stdout.trim();
  t.match(newToken, /^csb_[A-Za-z0-9_-]{43}$/, 'stdout is the new token alone');
  t.match(rotated.stderr, new RegExp(`^Token [0-9a-f-]{36} replaces ${oldId}, which works until `));
  t.ok(await authenticateScimToken(db, newToken), 'the new token works');
  t.ok(await authenticateScimToken(db, oldToken), 'the old one too, for now');
  t.ok(!(await authenticateScimToken(db, oldToken, { now: new Date(Date.now() + 121_000) })), 'and not after the overlap');
  const twice = await inProcess(['token', 'rotate', oldId]);
  t.equal(twice.code, 1);
  t.match(twice.stderr, /^error: The token was rotated already/);
  t.equal((await inProcess(['token', 'rotate', oldId, '--overlap-seconds', 'soon'])).code, 2, 'a bad overlap is a usage error');
});

t.test('user errors: one line on stderr, exit 1, nothing on stdout', async (t) => {
  const cases: [string[], RegExp][] = [
    [['token', 'create', '--workspace', 'acme', '--scope', 'admin', '--role', 'owner'], /^error: ADMIN_JWT_SECRET is not set/],
    [['token', 'create', '--workspace', 'nope', '--scope', 'scim'], /^error: No workspace named or with id "nope"/],
    [['token', 'revoke', randomUUID()], /^error: No token with id "[0-9a-f-]{36}"\n$/],
    [['token', 'revoke', 'not-an-id'], /^error: No token with id "not-an-id"\n$/],
    [['workspace', 'create', ' padded'], /^error: A workspace name must be non-empty/],
  ];
  for (const [args, expected] of cases) {
    const result = await inProcess(args);
    t.equal(result.code, 1, args.join(' '));
    t.equal(result.stdout, '', args.join(' '));
    t.match(result.stderr, expected, args.join(' '));
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }

  const usage: [string[], RegExp][] = [
    [['token', 'create', '--workspace', 'acme', '--scope', 'scim', '--expires-in-days', '0'], /^error: option '--expires-in-days <days>' argument '0' is invalid/],
    [['token', 'create', '--workspace', 'acme'], /^error: required option '--scope <scope>' not specified/],
    [['token', 'create', '--workspace', 'acme', '--scope', 'scim', '--colour'], /^error: unknown option '--colour'/],
    [['tokens'], /^error: unknown command 'tokens'/],
  ];
  for (const [args, expected] of usage) {
    const result = await inProcess(args);
    t.equal(result.code, 2, `a usage error exits 2: ${args.join(' ')}`);
    t.equal(result.stdout, '', args.join(' '));
    t.match(result.stderr, expected, args.join(' '));
  }

  const badEnv = await inProcess(['token', 'list'], () => loadConfig({ LOG_LEVEL: 'loud' }));
  t.equal(badEnv.code, 1);
  t.match(badEnv.stderr, /^error: LOG_LEVEL must be one of /);
});

t.test('--version prints the package version; help marks the required options', async (t) => {
  const version = await inProcess(['--version']);
  t.equal(version.code, 0);
  t.equal(version.stdout, `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  const help = await inProcess(['token', 'create', '--help']);
  t.equal(help.code, 0);
  // The help of one option, up to the next option (descriptions wrap).
  const helpOf = (flag: string) => new RegExp(`${flag} <[a-z]+>([^]*?)\\n  -`).exec(help.stdout)?.[1] ?? '';
  t.match(helpOf('--workspace'), '(required)');
  t.match(helpOf('--scope'), '(required)');
  t.notMatch(helpOf('--description'), '(required)', 'an optional option is not marked');
});

t.test('an unreachable DATABASE_URL is reported without the URL or its password', async (t) => {
  const secretUrl = 'postgres://scim:hunter2-S3cret@127.0.0.1:1/bridge';
  const result = await inProcess(['workspace', 'list'], () => loadConfig({ DATABASE_URL: secretUrl }));
  t.equal(result.code, 1);
  t.equal(result.stdout, '');
  t.match(result.stderr, /^error: Cannot use the PostgreSQL database in DATABASE_URL: .*ECONNREFUSED.*\n$/);
  t.notMatch(result.stderr, 'hunter2');
  t.notMatch(result.stderr, secretUrl);
});

t.test('migrate on a current database applies nothing', async (t) => {
  const upToDate = await inProcess(['migrate']);
  t.equal(upToDate.code, 0, upToDate.stderr);
  t.equal(upToDate.stdout, '');
  t.match(upToDate.stderr, /up to date/);
});

t.test('init re-seeds what is missing of the recommended access model, audited', async (t) => {
  const nothing = await inProcess(['init', '--workspace', 'acme']);
  t.equal(nothing.code, 0, nothing.stderr);
  t.match(nothing.stderr, /nothing added/, 'a new workspace is already seeded');

  const { deleteMapping, listMappings } = await import('../../src/services/access.service.js');
  const removed = await sharedDb().then(async ({ db }) => {
    const mapping = (await listMappings(db, workspaceId, {})).find((m) => m.group.value === 'codex-admins');
    if (!mapping) throw new Error('codex-admins mapping missing');
    await deleteMapping(db, { workspaceId, actor: { type: 'system', id: 'test' } }, mapping.id);
    return mapping;
  });
  const reseeded = await inProcess(['init', '--workspace', 'acme']);
  t.equal(reseeded.code, 0, reseeded.stderr);
  t.match(reseeded.stderr, /Mapped group "codex-admins"/);
  const after = await sharedDb().then(({ db }) => listMappings(db, workspaceId, {}));
  t.ok(after.some((m) => m.group.value === 'codex-admins' && m.id !== removed.id), 'the mapping is back');
});

t.test('scim-schema declare, list, unknown-attributes and remove', async (t) => {
  const file = join(dataDir, 'custom-ext.json');
  const urn = 'urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User';
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify({ name: 'CustomExt', resourceTypes: ['User'], attributes: [{ name: 'costCenterCode', type: 'string' }] }));
  const declared = await inProcess(['scim-schema', 'declare', '--workspace', 'acme', '--urn', urn, '--file', file]);
  t.equal(declared.code, 0, declared.stderr);
  t.match(declared.stderr, `Declared ${urn}`);
  const list = await inProcess(['scim-schema', 'list', '--workspace', 'acme', '--json']);
  t.match(JSON.parse(list.stdout), [{ urn, attributes: [{ name: 'costCenterCode', type: 'string' }] }]);

  writeFileSync(file, JSON.stringify({ name: 'CustomExt', resourceTypes: ['Printer'], attributes: [] }));
  const bad = await inProcess(['scim-schema', 'declare', '--workspace', 'acme', '--urn', urn, '--file', file]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /is not an extension declaration: \/resourceTypes\/0/);
  writeFileSync(file, JSON.stringify({ name: 'Enterprise', resourceTypes: ['User'], attributes: [] }));
  const builtin = await inProcess(['scim-schema', 'declare', '--workspace', 'acme', '--urn', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', '--file', file]);
  t.match(builtin.stderr, /built-in schema/);

  const policy = await inProcess(['scim-schema', 'unknown-attributes', '--workspace', 'acme', '--policy', 'reject']);
  t.equal(policy.code, 0, policy.stderr);
  t.match(policy.stderr, 'Attributes no schema declares: reject');
  const removed = await inProcess(['scim-schema', 'remove', '--workspace', 'acme', urn]);
  t.equal(removed.code, 0, removed.stderr);
  const { db } = await sharedDb();
  const events = await db.selectFrom('audit_events').select(['event_type', 'actor_type']).where('event_type', 'like', 'scim.extension_%').execute();
  t.same(events.map((e) => e.event_type).sort(), ['scim.extension_declared', 'scim.extension_removed']);
  t.ok(events.every((e) => e.actor_type === 'cli'), 'audited with the operator as actor');
});

t.test('webhook create, list, disable, enable and delete', async (t) => {
  const created = await inProcess(['webhook', 'create', '--workspace', 'acme', '--url', 'https://hooks.example.com/codex', '--events', 'access.changed, group.*']);
  t.equal(created.code, 0, created.stderr);
  const [id, secret] = created.stdout.trim().split(' ');
  t.match(secret, /^whsec_/, 'prints the id and the secret');
  const listed = await inProcess(['webhook', 'list', '--workspace', 'acme', '--json']);
  t.match(JSON.parse(listed.stdout), [{ id, url: 'https://hooks.example.com/codex', eventTypes: ['access.changed', 'group.*'], enabled: true }]);
  t.notMatch(listed.stdout, /whsec_/, 'never the secret');
  t.equal((await inProcess(['webhook', 'disable', '--workspace', 'acme', id!])).code, 0);
  t.match(JSON.parse((await inProcess(['webhook', 'list', '--workspace', 'acme', '--json'])).stdout), [{ enabled: false, disabledReason: 'Disabled by an owner' }]);
  t.equal((await inProcess(['webhook', 'enable', '--workspace', 'acme', id!])).code, 0);
  const insecure = await inProcess(['webhook', 'create', '--workspace', 'acme', '--url', 'http://hooks.example.com/', '--events', '*']);
  t.equal(insecure.code, 1);
  t.match(insecure.stderr, /https/);
  t.equal((await inProcess(['webhook', 'delete', '--workspace', 'acme', id!])).code, 0);
  const { db } = await sharedDb();
  const events = await db.selectFrom('audit_events').select(['event_type', 'actor_type', 'data']).where('target_id', '=', id!).orderBy('seq').execute();
  t.same(events.map((e) => e.event_type), ['webhook.created', 'webhook.updated', 'webhook.updated', 'webhook.deleted']);
  t.ok(events.every((e) => e.actor_type === 'cli'));
  t.notMatch(JSON.stringify(events), /whsec_/);
});

t.test('review holders prints the report in the format asked', async (t) => {
  const csv = await inProcess(['review', 'holders', '--workspace', 'acme', '--permission', 'codex_admin', '--format', 'csv']);
  t.equal(csv.code, 0, csv.stderr);
  t.match(csv.stdout, /^"user_id","user_name","since","source","reason","granted_by_event","cause_event","cause_type"\r\n/);
  const report = await inProcess(['review', 'holders', '--workspace', 'acme', '--permission', 'codex_admin', '--at', '2026-01-01T00:00:00Z']);
  t.match(JSON.parse(report.stdout), { permission: 'codex_admin', at: '2026-01-01T00:00:00.000Z', holders: [], auditHead: { treeSize: Number } });
  const bad = await inProcess(['review', 'holders', '--workspace', 'acme', '--permission', 'codex_admin', '--at', 'last tuesday']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /RFC 3339/);
});

t.test('review holders by group or role, and exactly one of --permission, --role or --group', async (t) => {
  const none = await inProcess(['review', 'holders', '--workspace', 'acme']);
  t.equal(none.code, 1);
  t.match(none.stderr, /exactly one of --permission, --role or --group/);
  const role = await inProcess(['review', 'holders', '--workspace', 'acme', '--role', 'Codex Admin', '--format', 'csv']);
  t.equal(role.code, 0, role.stderr);
  t.match(role.stdout, /^"user_id","user_name"/);
  const unknownRole = await inProcess(['review', 'holders', '--workspace', 'acme', '--role', 'No Such Role']);
  t.equal(unknownRole.code, 1);
  t.match(unknownRole.stderr, /No role "No Such Role"/);
  const missing = await inProcess(['review', 'holders', '--workspace', 'acme', '--group', 'no-such-group']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /No group "no-such-group"/);
});
