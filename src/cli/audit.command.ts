import { InvalidArgumentError, type Command } from 'commander';
import type { Db } from '../db/index.js';
import type { Workspace } from '../db/types.js';
import { listWorkspaces } from '../repositories/workspaces.repository.js';
import { DomainError } from '../services/admin-errors.js';
import { exportJsonl } from '../services/audit-export.service.js';
import { verifyAudit, type AuditVerifyReport } from '../services/audit-query.service.js';
import { AuditPurgeRefusedError, getRetention, MAX_RETENTION_DAYS, purgeWorkspace, setRetention } from '../services/audit-retention.service.js';
import { say, UserError, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';
import { resolveWorkspace } from '../services/workspaces.service.js';

// `codex-scim audit …`: export the trail as JSONL, verify its hash chains, show or set retention,
// and purge by hand. Export writes only records to stdout (`> file.jsonl`); progress goes to stderr.

const DAY_MS = 24 * 60 * 60 * 1000;

function instant(value: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new InvalidArgumentError('expected an ISO 8601 date or time, e.g. 2026-10-01 or 2026-10-01T12:00:00Z');
  return new Date(t);
}

function days(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_RETENTION_DAYS) throw new InvalidArgumentError(`expected a whole number of days from 1 to ${MAX_RETENTION_DAYS}`);
  return n;
}

/** The services speak the admin API's errors; on the command line they are the operator's to fix. */
async function asUserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError || error instanceof AuditPurgeRefusedError) throw new UserError(error.message);
    throw error;
  }
}

async function workspacesOf(db: Db, name: string | undefined): Promise<Workspace[]> {
  return name === undefined ? listWorkspaces(db) : [await resolveWorkspace(db, name)];
}

/** Writes to stdout, waiting for it to drain when it is a stream that asks to (a pipe, a slow file). */
async function writeOut(ctx: CliContext, text: string): Promise<void> {
  const out = ctx.io.stdout as { write(text: string): unknown; once?: (event: 'drain' | 'close' | 'error', fn: () => void) => unknown };
  if (out.write(text) === false && typeof out.once === 'function') {
    await new Promise<void>((resolve) => {
      out.once!('drain', resolve);
      out.once!('close', resolve);
      out.once!('error', resolve);
    });
  }
}

function describeBreak(r: AuditVerifyReport): string {
  if (r.firstBroken) {
    const { seq, id, reason } = r.firstBroken;
    return `broken at seq ${seq}${id ? ` (event ${id})` : ''}: ${reason}`;
  }
  if (r.checkpoint && !r.checkpoint.ok) return `retention checkpoint through seq ${r.checkpoint.throughSeq} does not match its audit.purged record: ${r.checkpoint.problem}`;
  return 'ok';
}

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('export, verify and retain the audit trail');

  audit
    .command('export')
    .description('write audit events as JSONL (one record per line, de-duplicate on "id") to stdout')
    .requiredOption('--since <time>', 'events that occurred at or after this instant (ISO 8601)', instant)
    .option('--until <time>', 'events that occurred before this instant (default: now)', instant)
    .option('--workspace <workspace>', 'only this workspace (name or id); default every workspace, one after the other')
    .action(async (options: { since: Date; until?: Date; workspace?: string }) => {
      const until = options.until ?? new Date();
      if (options.since.getTime() >= until.getTime()) throw new UserError('--since must be earlier than --until');
      const count = await withDatabase(ctx, async (db) => {
        let n = 0;
        for (const ws of await workspacesOf(db, options.workspace)) {
          for await (const chunk of exportJsonl(db, ws.id, { from: options.since, to: until })) {
            await writeOut(ctx, chunk);
            for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) n++;
          }
        }
        return n;
      });
      say(ctx, `Exported ${count} audit events from ${timestamp(options.since)} to ${timestamp(until)}`);
    });

  audit
    .command('verify')
    .description("verify each workspace's hash chain and retention checkpoint; exits 1 and names the first broken link when one is broken")
    .option('--workspace <workspace>', 'only this workspace (name or id)')
    .option('--json', 'print JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      const reports = await withDatabase(ctx, async (db) => {
        const out: Array<AuditVerifyReport & { workspace: string }> = [];
        for (const ws of await workspacesOf(db, options.workspace)) out.push({ workspace: ws.name, ...(await verifyAudit(db, ws.id)) });
        return out;
      });
      if (options.json) ctx.io.stdout.write(json(reports));
      else {
        ctx.io.stdout.write(
          table(
            ['WORKSPACE', 'RESULT', 'CHECKED', 'ANCHOR', 'HEAD'],
            reports.map((r) => [r.workspace, r.ok ? 'ok' : describeBreak(r), String(r.checked), String(r.anchor.seq), String(r.head?.seq ?? 0)]),
          ),
        );
      }
      const broken = reports.filter((r) => !r.ok);
      if (broken.length > 0) {
        throw new UserError(broken.map((r) => `audit chain of workspace ${JSON.stringify(r.workspace)} is ${describeBreak(r)}`).join('; '));
      }
    });

  audit
    .command('retention')
    .description("show or set how long a workspace keeps audit events (default: the service's AUDIT_RETENTION_DAYS, else forever)")
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--days <days>', 'keep events this many days', days)
    .option('--keep-all', 'keep every event, whatever AUDIT_RETENTION_DAYS says')
    .option('--use-default', "follow the service's AUDIT_RETENTION_DAYS")
    .action(async (options: { workspace: string; days?: number; keepAll?: boolean; useDefault?: boolean }) => {
      const given = [options.days !== undefined, options.keepAll === true, options.useDefault === true].filter(Boolean).length;
      if (given > 1) throw new UserError('give at most one of --days, --keep-all and --use-default');
      const serviceDays = ctx.loadConfig().auditRetentionDays;
      const view = await withDatabase(ctx, async (db) => {
        const ws = await resolveWorkspace(db, options.workspace);
        if (given === 0) return getRetention(db, ws.id, serviceDays);
        const value = options.days ?? (options.keepAll ? null : 'default');
        return asUserErrors(() => setRetention(db, { workspaceId: ws.id, actor: ctx.actor }, value, serviceDays));
      });
      const what = view.retentionDays === null ? 'kept forever' : `kept ${view.retentionDays} days`;
      ctx.io.stdout.write(`${what} (${view.source})\n`);
    });

  audit
    .command('purge')
    .description('purge audit events older than the retention (or --before) now, as the scheduled job does; recorded as audit.purged')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--before <time>', 'purge events that occurred before this instant (ISO 8601) instead of applying the retention', instant)
    .action(async (options: { workspace: string; before?: Date }) => {
      const serviceDays = ctx.loadConfig().auditRetentionDays;
      const result = await withDatabase(ctx, async (db) => {
        const ws = await resolveWorkspace(db, options.workspace);
        let cutoff = options.before;
        let retentionDays: number | null | undefined;
        if (!cutoff) {
          retentionDays = (await getRetention(db, ws.id, serviceDays)).retentionDays;
          if (retentionDays === null) throw new UserError(`workspace ${JSON.stringify(ws.name)} keeps every audit event; give --before to purge anyway`);
          cutoff = new Date(Date.now() - retentionDays * DAY_MS);
        }
        const purgeCutoff = cutoff;
        return asUserErrors(() => purgeWorkspace(db, ws.id, purgeCutoff, { actor: ctx.actor, retentionDays }));
      });
      say(ctx, `Purged ${result.deleted} audit events that occurred before ${timestamp(result.cutoff)}`);
      const last = result.batches[result.batches.length - 1];
      if (last) say(ctx, `The chain now starts after seq ${last.throughSeq}; recorded as audit.purged event ${last.eventId}`);
    });
}
