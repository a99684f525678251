import { createHash } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, type Dialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { observePool, observeQuery } from '../metrics.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;
/** What repository functions take first: the database or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type { Database };

/**
 * The type parsers of every pool this service opens: bigint columns (count(*), sequences) come
 * back as numbers, as PGlite's are configured below; counts never exceed 2^53 here. Per pool, so
 * nothing else in the process that uses `pg` is affected.
 */
const INT8_OID: number = pg.types.builtins.INT8;
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pool on DATABASE_URL with the service's type parsers, that survives the server going away.
 * - A server that drops packets would otherwise hold each request until the OS gives up on the
 *   connection: five seconds, then a 503 with Retry-After (plugins/request-errors.ts).
 * - A connection the server ends (restart, failover, a reset) emits 'error' on its client: on the
 *   pool while idle, on the client itself while checked out. With no listener either one crashes
 *   the process; the query in flight fails on its own, and the pool opens a new connection on demand.
 */
export function createPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: PG_TYPES, connectionTimeoutMillis: 5000 });
  pool.on('error', (error) => process.emitWarning(`PostgreSQL connection lost: ${error.message}`));
  pool.on('connect', (client) => {
    client.on('error', () => {});
    prepareStatements(client);
  });
  observePool(pool);
  return pool;
}

/** Named statements a connection keeps at most: statements whose text varies (IN lists) must not grow it without end. */
const MAX_PREPARED = 200;
const DML = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * Runs the service's statements as named prepared statements, one per distinct SQL text and
 * connection: PostgreSQL parses each once, and after a few executions plans the recomputes once
 * instead of on every write (planning was about 3 ms of the ~5.5 ms of database CPU a
 * POST /Users cost). Kysely calls client.query(text, values); only that form is wrapped.
 */
function prepareStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const names = new Map<string, string>();
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
    if (typeof text !== 'string' || !Array.isArray(values) || rest.length > 0 || !DML.test(text)) return query(text, values, ...rest);
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) {
      name = `k${createHash('sha1').update(text).digest('hex')}`;
      names.set(text, name);
    }
    return name === undefined ? query(text, values) : query({ name, text, values });
  };
}

/**
 * A consistent read: `work` runs in one repeatable-read transaction (one snapshot for every query
 * of the answer), unless the caller is already in a transaction.
 */
export async function consistentRead<T>(db: Executor, work: (db: Executor) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db);
  return (db).transaction().setIsolationLevel('repeatable read').execute((trx) => work(trx));
}

/** A Kysely on a dialect, every statement's latency recorded in db_query_duration_seconds. */
export function kyselyOn(dialect: Dialect): Kysely<Database> {
  return new Kysely<Database>({ dialect, log: observeQuery });
}

export interface DbHandle {
  db: Db;
  dialect: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** PostgreSQL through `pg` when DATABASE_URL is set, otherwise the embedded PGlite in dataDir. */
export async function createDb(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<DbHandle> {
  if (config.databaseUrl) {
    const pool = createPool(config.databaseUrl, 10);
    const db = kyselyOn(new PostgresDialect({ pool }));
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const pglite = await openPglite(config.dataDir);
  return fromPglite(pglite);
}

export function fromPglite(pglite: PGlite): DbHandle {
  const db = kyselyOn(new PGliteDialect({ pglite }));
  return { db, dialect: 'pglite', close: () => db.destroy() };
}

/**
 * PGlite is a single-process database: two processes opening the same directory corrupt it.
 * A lock file next to the data makes a second process (the CLI while the server runs) fail
 * with a clear message instead.
 */
async function openPglite(dataDir: string): Promise<PGlite> {
  const { acquireDataDirLock } = await import('./pglite-lock.js');
  const release = await acquireDataDirLock(dataDir);
  try {
    const pglite = await PGlite.create(dataDir, { parsers: { 20: (v: string) => Number(v) } });
    const close = pglite.close.bind(pglite);
    pglite.close = async () => {
      try {
        await close();
      } finally {
        release();
      }
    };
    return pglite;
  } catch (error) {
    release();
    throw error;
  }
}
