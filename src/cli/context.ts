import { userInfo } from 'node:os';
import type { Config } from '../config/index.js';
import type { Db, DbHandle } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import type { AuditActor } from '../audit/types.js';
import { ensureDefaultWorkspace } from '../services/workspaces.service.js';

/** Where a command writes: stdout carries only the result scripts capture, stderr everything else. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface CliContext {
  io: CliIo;
  /** Loaded on first use, so `--help` and argument errors work even with a bad environment. */
  loadConfig(): Config;
  /** createDb, unless a test hands in a database it already opened. */
  openDb(config: Config): Promise<DbHandle>;
  actor: AuditActor;
}

/** A mistake the operator can fix; its message is printed as is, without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

export function cliActor(): AuditActor {
  try {
    return { type: 'cli', id: userInfo().username };
  } catch {
    // userInfo() throws when the uid has no passwd entry (some containers).
    return { type: 'cli', id: `uid:${process.getuid?.() ?? 'unknown'}` };
  }
}

export function say(ctx: CliContext, line: string): void {
  ctx.io.stderr.write(`${line}\n`);
}

/**
 * Opens the configured database for one command: applies pending migrations and makes sure the
 * `default` workspace exists, as the service does on start, because the CLI may be the first thing
 * run against a fresh data directory. On PGlite, createDb refuses with DataDirLockedError while
 * another process (the service) holds the directory, before anything in it is opened.
 */
export async function withDatabase<T>(
  ctx: CliContext,
  fn: (db: Db, applied: string[]) => Promise<T>,
  options: { reportMigrations?: boolean } = {},
): Promise<T> {
  const config = ctx.loadConfig();
  const handle = await ctx.openDb(config);
  try {
    const applied = await migrateToLatest(handle.db);
    if (options.reportMigrations !== false) {
      for (const name of applied) say(ctx, `Applied migration ${name}`);
    }
    if (await ensureDefaultWorkspace(handle.db, ctx.actor)) say(ctx, 'Created workspace "default"');
    return await fn(handle.db, applied);
  } finally {
    await handle.close();
  }
}
