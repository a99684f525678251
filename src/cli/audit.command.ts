import { readFile, writeFile, appendFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { verifyExport } from '../audit/offline-verify.js';
import { generateKey, NoteKeyError, verifierFromKey, type NoteVerifier } from '../audit/signed-note.js';
import { sealPending, type SealOptions } from '../audit/sealer.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Workspace } from '../db/types.js';
import { listWorkspaces } from '../repositories/workspaces.repository.js';
import { DomainError } from '../services/admin-errors.js';
import { exportJsonl } from '../services/audit-export.service.js';
import { latestHead } from '../services/audit-log.service.js';
import { verifyAudit, type AuditVerifyReport } from '../services/audit-query.service.js';
import { AuditPurgeRefusedError, getRetention, MAX_RETENTION_DAYS, purgeWorkspace, setRetention } from '../services/audit-retention.service.js';
import { say, UserError, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';
import { resolveWorkspace } from '../services/workspaces.service.js';

// `codex-scim audit …`: export the trail as JSONL, verify it (in the database, or an export file
// offline with only the verifier key), make a checkpoint signing key, keep a witness file of
// checkpoints, show or set retention, and purge by hand. Export writes only records to stdout
// (`> file.jsonl`); progress goes to stderr.

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

const sealOptions = (config: Config): SealOptions => ({ origin: config.auditLog.origin, signer: config.auditLog.signer });

function verifier(key: string): NoteVerifier {
  try {
    return verifierFromKey(key);
  } catch (error) {
    if (error instanceof NoteKeyError) throw new UserError(`--verifier-key: ${error.message}`);
    throw error;
  }
}

/** A witness file: one JSON line per checkpoint kept, {witnessedAt, workspaceId, checkpoint}. */
async function readWitness(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read the witness file ${path}: ${error.code ?? error.message}`);
  });
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return String((JSON.parse(l) as { checkpoint: unknown }).checkpoint);
      } catch {
        throw new UserError(`${path} line ${i + 1} is not a witness record`);
      }
    });
}

function describeBreak(r: AuditVerifyReport): string {
  if (r.firstBroken) {
    const { seq, id, reason } = r.firstBroken;
    return `broken${seq !== null ? ` at seq ${seq}` : ''}${id ? ` (event ${id})` : ''}: ${reason}`;
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
    .option('--workspace <workspace>', 'only this workspace (name or id); default every workspace, one after the other, each followed by its checkpoint line')
    .action(async (options: { since: Date; until?: Date; workspace?: string }) => {
      const until = options.until ?? new Date();
      if (options.since.getTime() >= until.getTime()) throw new UserError('--since must be earlier than --until');
      const count = await withDatabase(ctx, async (db) => {
        let n = 0;
        for (const ws of await workspacesOf(db, options.workspace)) {
          for await (const chunk of exportJsonl(db, ws.id, { from: options.since, to: until, seal: sealOptions(ctx.loadConfig()) })) {
            await writeOut(ctx, chunk);
            for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) n++;
          }
          n--; // the checkpoint line
        }
        return n;
      });
      say(ctx, `Exported ${count} audit events from ${timestamp(options.since)} to ${timestamp(until)}`);
    });

  audit
    .command('verify [file]')
    .description(
      "without FILE: verify each workspace's Merkle log, old hash chain and retention checkpoint in the database. " +
        'With FILE (one workspace\'s export): verify it offline against the verifier key and, with --witness, against checkpoints kept earlier. ' +
        'Exits 1 naming the first problem.',
    )
    .option('--workspace <workspace>', 'only this workspace (name or id)')
    .option('--verifier-key <key>', 'the checkpoints\' verifier key (name+keyid+base64; GET /api/v1/audit/keys); default with FILE: none, the signature is not checked')
    .option('--witness <file>', 'with FILE: a witness file (codex-scim audit witness) whose checkpoints the export must be consistent with')
    .option('--json', 'print JSON')
    .action(async (file: string | undefined, options: { workspace?: string; verifierKey?: string; witness?: string; json?: boolean }) => {
      if (file !== undefined) {
        const key = options.verifierKey !== undefined ? verifier(options.verifierKey) : undefined;
        const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new UserError(`cannot read ${file}: ${error.code ?? error.message}`);
        });
        const report = verifyExport(text, { verifier: key, witnessed: options.witness ? await readWitness(options.witness) : [] });
        if (options.json) ctx.io.stdout.write(json(report));
        else ctx.io.stdout.write(report.ok ? `ok: ${report.events} events, tree of ${report.treeSize} leaves${key ? ', signature verified' : ' (signature not checked: no --verifier-key)'}${options.witness ? `, consistent with ${report.witnessed} witnessed heads` : ''}\n` : '');
        if (!report.ok) throw new UserError(report.problems.join('; '));
        return;
      }
      if (options.witness) throw new UserError('--witness needs an export FILE to check');
      const key = options.verifierKey !== undefined ? verifier(options.verifierKey) : (() => {
        const signer = ctx.loadConfig().auditLog.signer;
        return signer && verifierFromKey(signer.verifierKey);
      })();
      const reports = await withDatabase(ctx, async (db) => {
        await sealPending(db, sealOptions(ctx.loadConfig()));
        const out: Array<AuditVerifyReport & { workspace: string }> = [];
        for (const ws of await workspacesOf(db, options.workspace)) out.push({ workspace: ws.name, ...(await verifyAudit(db, ws.id, { verifier: key })) });
        return out;
      });
      if (options.json) ctx.io.stdout.write(json(reports));
      else {
        ctx.io.stdout.write(
          table(
            ['WORKSPACE', 'RESULT', 'CHECKED', 'TREE', 'SIGNED'],
            reports.map((r) => [r.workspace, r.ok ? 'ok' : describeBreak(r), String(r.checked), String(r.tree.size), r.tree.signed ? 'yes' : 'no']),
          ),
        );
      }
      const broken = reports.filter((r) => !r.ok);
      if (broken.length > 0) {
        throw new UserError(broken.map((r) => `audit log of workspace ${JSON.stringify(r.workspace)} is ${describeBreak(r)}`).join('; '));
      }
    });

  audit
    .command('keygen')
    .description('make an Ed25519 signed-note key for audit checkpoints: writes the private key file (for AUDIT_SIGNING_KEY_FILE) and prints the verifier key to publish')
    .requiredOption('--name <name>', 'the key name, e.g. scim-bridge.example.com/audit (no spaces or "+")')
    .requiredOption('--out <file>', 'where to write the private key (created with mode 0600; never overwritten)')
    .action(async (options: { name: string; out: string }) => {
      let key: ReturnType<typeof generateKey>;
      try {
        key = generateKey(options.name);
      } catch (error) {
        throw new UserError(`--name: ${(error as Error).message}`);
      }
      await writeFile(options.out, `${key.privateKey}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(error.code === 'EEXIST' ? `${options.out} exists; keys are never overwritten` : `cannot write ${options.out}: ${error.code ?? error.message}`);
      });
      ctx.io.stdout.write(`${key.verifierKey}\n`);
      say(ctx, `Wrote the private key to ${options.out}; set AUDIT_SIGNING_KEY_FILE=${options.out}. Publish the verifier key above to auditors.`);
    });

  audit
    .command('witness')
    .description("append each workspace's latest checkpoint to a witness file, kept by a second party: `audit verify FILE --witness` later detects truncation, rewrites and wipes since")
    .requiredOption('--append <file>', 'the witness file (JSON lines; created when missing)')
    .option('--workspace <workspace>', 'only this workspace (name or id)')
    .action(async (options: { append: string; workspace?: string }) => {
      const lines = await withDatabase(ctx, async (db) => {
        const out: string[] = [];
        for (const ws of await workspacesOf(db, options.workspace)) {
          const head = await latestHead(db, ws.id, sealOptions(ctx.loadConfig()));
          out.push(`${JSON.stringify({ witnessedAt: new Date().toISOString(), workspaceId: ws.id, treeSize: head.treeSize, checkpoint: head.checkpoint })}\n`);
        }
        return out;
      });
      await appendFile(options.append, lines.join(''));
      say(ctx, `Witnessed ${lines.length} checkpoint${lines.length === 1 ? '' : 's'} into ${options.append}`);
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
        return asUserErrors(() => purgeWorkspace(db, ws.id, purgeCutoff, { actor: ctx.actor, retentionDays, seal: sealOptions(ctx.loadConfig()) }));
      });
      say(ctx, `Purged ${result.deleted} audit events that occurred before ${timestamp(result.cutoff)}`);
      const last = result.batches[result.batches.length - 1];
      if (last) say(ctx, `History now starts after seq ${last.throughSeq}; recorded as audit.purged event ${last.eventId}`);
    });
}
