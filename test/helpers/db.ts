import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { createPool, fromPglite, type Db, type DbHandle } from '../../src/db/index.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/types.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';

// One migrated template per run, cloned per test file (STYLE.md §7): a PGlite data-dir dump for
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
const PGLITE_TEMPLATE = join(TEMPLATE_DIR, `pglite-template-${migrationsHash}.tar.gz`);
const PG_TEMPLATE_DB = `bridge_test_template_${migrationsHash}`;

async function pgliteTemplate(): Promise<Blob | undefined> {
  if (!existsSync(PGLITE_TEMPLATE)) return undefined;
  return new Blob([readFileSync(PGLITE_TEMPLATE)]);
}

async function createPglite(): Promise<DbHandle> {
  const template = await pgliteTemplate();
  const pglite = await PGlite.create({ loadDataDir: template, parsers: { 20: (v: string) => Number(v) } });
  const handle = fromPglite(pglite);
  // The template may be stale while migrations are being written; migrating is a no-op when current.
  await migrateToLatest(handle.db);
  if (!template) {
    const dump = await pglite.dumpDataDir('gzip');
    mkdirSync(TEMPLATE_DIR, { recursive: true });
    const tmp = `${PGLITE_TEMPLATE}.${process.pid}`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, PGLITE_TEMPLATE);
  }
  return handle;
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
  const pool = createPool(url, max);
  pool.on('error', () => {}); // an idle connection ended by the server is simply dropped
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
    await import('node:fs').then((fs) => fs.rmSync(PGLITE_TEMPLATE, { force: true }));
    const handle = await createPglite();
    await handle.close();
  }
}
