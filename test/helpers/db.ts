import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { createPool, fromPglite, kyselyOn, type Db, type DbHandle } from '../../src/db/index.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/types.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';

// One migrated template per run, cloned per test file: a PGlite data-dir dump for
// the embedded dialect, a `TEMPLATE` database for PostgreSQL. TEST_DB picks the dialect;
// TEST_DATABASE_URL points at the PostgreSQL server (scripts/test.ts starts one when needed).

export type TestDialect = 'pglite' | 'postgres';

/**
 * Scale cases (tens of thousands of rows) run in full when TEST_HEAVY=1, as CI sets it; a local
 * `npm test` runs them at a size that still crosses every page and chunk boundary they test.
 */
export const HEAVY = process.env.TEST_HEAVY === '1';
export function scaled(full: number, light: number): number {
  return HEAVY ? full : light;
}
export const testDialect: TestDialect = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestDb extends DbHandle {
  db: Db;
  workspaceId: string;
  /** Connection string of this file's own database (PostgreSQL only), for multi-instance tests. */
  databaseUrl?: string;
}

// Templates are named after a hash of the migrations, so a changed migration never meets a stale template.
const migrationsHash = createHash('sha256')
  .update(readdirSync(MIGRATIONS_DIR).sort().map((f) => f + readFileSync(join(MIGRATIONS_DIR, f), 'utf8')).join('\0'))
  .digest('hex')
  .slice(0, 12);
const TEMPLATE_DIR = join(process.cwd(), '.tmp');
// Uncompressed: a new instance loads a plain tar in half the time of a gzipped one.
const PGLITE_TEMPLATE = join(TEMPLATE_DIR, `pglite-template-${migrationsHash}.tar`);
const PG_TEMPLATE_DB = `bridge_test_template_${migrationsHash}`;

const PGLITE_OPTIONS = { parsers: { 20: (v: string) => Number(v) } };

/** Loads the dump (writing it first when missing) and migrates it; a no-op when it is current. */
async function loadPgliteTemplate(): Promise<PGlite> {
  const dump = existsSync(PGLITE_TEMPLATE) ? new Blob([readFileSync(PGLITE_TEMPLATE)]) : undefined;
  const pglite = await PGlite.create({ ...PGLITE_OPTIONS, loadDataDir: dump });
  // The dump may be stale while migrations are being written.
  await migrateToLatest(fromPglite(pglite).db);
  if (!dump) {
    const fresh = await pglite.dumpDataDir('none');
    mkdirSync(TEMPLATE_DIR, { recursive: true });
    const tmp = `${PGLITE_TEMPLATE}.${process.pid}`;
    writeFileSync(tmp, Buffer.from(await fresh.arrayBuffer()));
    renameSync(tmp, PGLITE_TEMPLATE);
  }
  return pglite;
}

// PGlite: a new instance costs about a second (WebAssembly start-up and loading the data
// directory), emptying one costs a tenth of that. So each process keeps the instances its test
// files have closed and hands them out again emptied, as long as the test left the schema as
// migrated (a test that adds a trigger or a role gets a fresh instance after it).
const TABLES = `select quote_ident(tablename) as name from pg_tables where schemaname = 'public' and tablename not like 'kysely_%'`;
const SCHEMA_FINGERPRINT = `
  select md5(string_agg(item, ',' order by item)) as fingerprint from (
    select 'rel:' || c.relname || ':' || c.relkind::text as item from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
    union all select 'col:' || a.attrelid::regclass::text || '.' || a.attname || ':' || a.atttypid::text from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped
    union all select 'con:' || conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'public'
    union all select 'trg:' || tgname || ':' || tgenabled::text from pg_trigger where not tgisinternal
    union all select 'fn:' || p.proname || ':' || md5(p.prosrc) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
    union all select 'role:' || rolname from pg_roles
  ) items`;

let templateFingerprint: Promise<string> | undefined;
const idlePglites: PGlite[] = [];

async function fingerprintOf(pglite: PGlite): Promise<string> {
  return (await pglite.query<{ fingerprint: string }>(SCHEMA_FINGERPRINT)).rows[0]!.fingerprint;
}

/** Empties an instance for the next test file, or answers false when it can't be reused. */
async function emptied(pglite: PGlite, fingerprint: string): Promise<boolean> {
  try {
    if ((await fingerprintOf(pglite)) !== fingerprint) return false;
    const tables = (await pglite.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
    // Replica mode skips the triggers that keep the audit tables append-only.
    await pglite.exec(`reset all; select pg_advisory_unlock_all(); set session_replication_role = replica;
      truncate ${tables.join(', ')} restart identity; reset session_replication_role;`);
    return true;
  } catch {
    return false;
  }
}

/** An empty migrated instance: an idle one when there is one, else the dump loaded anew. */
async function createPglite(): Promise<DbHandle> {
  let pglite = idlePglites.pop();
  if (!pglite) {
    pglite = await loadPgliteTemplate();
    if (!templateFingerprint) {
      templateFingerprint = fingerprintOf(pglite);
      // Idle instances would keep the process alive after its last test. (Imported here, not at the
      // top: importing tap makes a process a test, and scripts/test.ts imports this module.)
      const { default: tap } = await import('tap');
      tap.teardown(() => Promise.all(idlePglites.splice(0).map((p) => PGlite.prototype.close.call(p))));
    }
  }
  const fingerprint = await templateFingerprint!;
  const instance = pglite;
  const close = PGlite.prototype.close.bind(instance);
  instance.close = async () => {
    if (await emptied(instance, fingerprint)) idlePglites.push(instance);
    else await close();
  };
  return fromPglite(instance);
}

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL (run the suite with `npm test`, which starts a server)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function kyselyFor(url: string, max = 5): Kysely<Database> {
  return kyselyOn(new PostgresDialect({ pool: createPool(url, max) }));
}

/** Creates (once per server) the migrated template database, serialised by an advisory lock. */
async function ensurePgTemplate(admin: Kysely<Database>, url: string): Promise<void> {
  await sql`select pg_advisory_lock(727274)`.execute(admin);
  try {
    const exists = await sql`select 1 from pg_database where datname = ${PG_TEMPLATE_DB}`.execute(admin);
    if (exists.rows.length === 0) await sql.raw(`create database ${PG_TEMPLATE_DB}`).execute(admin);
    const template = kyselyFor(withDatabase(url, PG_TEMPLATE_DB), 1);
    try {
      await migrateToLatest(template);
    } finally {
      await template.destroy();
    }
  } finally {
    await sql`select pg_advisory_unlock(727274)`.execute(admin);
  }
}

async function createPostgres(): Promise<DbHandle & { databaseUrl: string }> {
  const url = serverUrl();
  const admin = kyselyFor(url, 1);
  const name = `bridge_test_${randomBytes(6).toString('hex')}`;
  try {
    await ensurePgTemplate(admin, url);
    await sql`select pg_advisory_lock(727274)`.execute(admin);
    try {
      await sql.raw(`create database ${name} template ${PG_TEMPLATE_DB}`).execute(admin);
    } finally {
      await sql`select pg_advisory_unlock(727274)`.execute(admin);
    }
  } finally {
    await admin.destroy();
  }
  const databaseUrl = withDatabase(url, name);
  const db = kyselyFor(databaseUrl, 10);
  return {
    db,
    dialect: 'postgres',
    databaseUrl,
    async close() {
      await db.destroy();
      // No `with (force)`: a pool another part of the test has not closed yet must not have its
      // connections killed under it. A database still in use is left for the throwaway cluster.
      const drop = kyselyFor(url, 1);
      try {
        await sql.raw(`drop database if exists ${name}`).execute(drop);
      } catch {
        // still in use: harmless, the cluster is deleted at the end of the run
      } finally {
        await drop.destroy();
      }
    },
  };
}

/** An empty database of its own (no migrations), closed and dropped at teardown: for migration tests. */
export async function createEmptyTestDb(t: Teardown): Promise<DbHandle> {
  if (testDialect === 'pglite') {
    const handle = fromPglite(await PGlite.create({ parsers: { 20: (v: string) => Number(v) } }));
    t.teardown(() => handle.close());
    return handle;
  }
  const url = serverUrl();
  const name = `bridge_test_empty_${randomBytes(6).toString('hex')}`;
  const admin = kyselyFor(url, 1);
  await sql.raw(`create database ${name}`).execute(admin);
  await admin.destroy();
  const db = kyselyFor(withDatabase(url, name), 5);
  t.teardown(async () => {
    await db.destroy();
    const drop = kyselyFor(url, 1);
    await sql.raw(`drop database if exists ${name}`).execute(drop).catch(() => undefined);
    await drop.destroy();
  });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** A migrated database of its own for one test file, with a workspace, closed at teardown. */
export async function createTestDb(t: Teardown, workspaceName = 'test'): Promise<TestDb> {
  const handle = testDialect === 'postgres' ? await createPostgres() : await createPglite();
  t.teardown(() => handle.close());
  const { workspace } = await ensureWorkspace(handle.db, workspaceName);
  return { ...handle, workspaceId: workspace.id };
}

/** Builds the migrated templates up front (called once by scripts/test.ts). */
export async function prepareTemplates(dialect: TestDialect): Promise<void> {
  if (dialect === 'postgres') {
    const admin = kyselyFor(serverUrl(), 1);
    try {
      await sql.raw(`drop database if exists ${PG_TEMPLATE_DB}`).execute(admin);
      await ensurePgTemplate(admin, serverUrl());
    } finally {
      await admin.destroy();
    }
  } else {
    rmSync(PGLITE_TEMPLATE, { force: true });
    await (await loadPgliteTemplate()).close();
  }
}
