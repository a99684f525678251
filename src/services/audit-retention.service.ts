import { sql, type Transaction } from 'kysely';
import { canonicalJson, chainHash } from '../audit/hash-chain.js';
import type { AuditActor, AuditContext } from '../audit/types.js';
import type { Database, Db, Executor } from '../db/index.js';
import { appendAuditEvents, listAuditEventsBySeq, type ChainHead } from '../repositories/audit.repository.js';
import {
  checkpointDigest,
  deleteEventsThrough,
  deleteRetentionSetting,
  enablePurge,
  findEventBySeq,
  findPurgeEnd,
  findRetentionDays,
  foldIntoCheckpoint,
  listWorkspaceRetention,
  moveAnchor,
  upsertRetentionDays,
  type CheckpointSummary,
} from '../repositories/audit-query.repository.js';
import { invalid } from './admin-errors.js';

// Retention (issue 5): how long a workspace keeps its audit events, and the purge that removes
// older ones. A purge batch is one transaction holding the workspace's chain-head lock (appenders
// of that workspace wait, other workspaces do not): it checks the links of the events it is about
// to delete — a purge must never erase the evidence of tampering —, folds their memberships and
// access into the checkpoint, deletes them under the purge flag, moves the chain anchor to the
// last deleted event, and appends an audit.purged event recording all of it.

const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_RETENTION_DAYS = 36500;
/** Events per purge transaction: bounds how long appenders of the workspace wait. */
export const PURGE_BATCH = 10_000;
const VERIFY_PAGE = 2_000;

export const RETENTION_ACTOR: AuditActor = { type: 'system', id: 'retention' };

export class AuditPurgeRefusedError extends Error {
  override name = 'AuditPurgeRefusedError';
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(message);
  }
}

export interface RetentionView {
  /** Days events are kept; null: kept forever. */
  retentionDays: number | null;
  /** Where the value comes from: the workspace's own setting, the service's AUDIT_RETENTION_DAYS, or the default (keep everything). */
  source: 'workspace' | 'service' | 'default';
}

export async function getRetention(db: Executor, workspaceId: string, serviceDays: number | undefined): Promise<RetentionView> {
  const own = await findRetentionDays(db, workspaceId);
  if (own !== undefined) return { retentionDays: own, source: 'workspace' };
  if (serviceDays !== undefined) return { retentionDays: serviceDays, source: 'service' };
  return { retentionDays: null, source: 'default' };
}

function checkDays(days: number | null | 'default'): void {
  if (days === null || days === 'default') return;
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
    throw invalid('retentionDays', `retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or null to keep everything`);
  }
}

/**
 * Sets the workspace's retention: days, null (keep everything whatever the service default), or
 * 'default' (follow AUDIT_RETENTION_DAYS). Recorded as workspace.settings_changed.
 */
export async function setRetention(db: Db, audit: AuditContext, days: number | null | 'default', serviceDays: number | undefined): Promise<RetentionView> {
  checkDays(days);
  return db.transaction().execute(async (trx) => {
    // The setting row first, the append (and its head lock) after: the lock order of audit.repository.ts.
    const before = await getRetention(trx, audit.workspaceId, serviceDays);
    if (days === 'default') await deleteRetentionSetting(trx, audit.workspaceId);
    else await upsertRetentionDays(trx, audit.workspaceId, days);
    const after = await getRetention(trx, audit.workspaceId, serviceDays);
    if (before.retentionDays !== after.retentionDays || before.source !== after.source) {
      await appendAuditEvents(trx, audit, [
        {
          type: 'workspace.settings_changed',
          targetType: 'workspace',
          targetId: audit.workspaceId,
          data: { changed: ['auditRetentionDays'], before: { auditRetentionDays: before.retentionDays, source: before.source }, after: { auditRetentionDays: after.retentionDays, source: after.source } },
        },
      ]);
    }
    return after;
  });
}

export interface PurgeBatchResult {
  deleted: number;
  throughSeq: number;
  throughAt: Date;
  anchorHash: string;
  eventId: string;
  checkpoint: CheckpointSummary;
}

export interface PurgeResult {
  workspaceId: string;
  cutoff: Date;
  deleted: number;
  batches: PurgeBatchResult[];
}

async function lockHead(trx: Transaction<Database>, workspaceId: string): Promise<ChainHead | undefined> {
  const result = await sql<{ seq: number; hash: string; anchor_seq: number; anchor_hash: string; occurred_at: Date | null }>`
    select seq, hash, anchor_seq, anchor_hash, occurred_at from audit_chain_heads where workspace_id = ${workspaceId} for update`.execute(trx);
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    seq: Number(row.seq),
    hash: row.hash,
    anchorSeq: Number(row.anchor_seq),
    anchorHash: row.anchor_hash,
    occurredAt: row.occurred_at ? new Date(row.occurred_at) : null,
  };
}

/** Checks the links of (anchorSeq, throughSeq] and returns the hash of the last one. */
async function verifySegment(trx: Executor, workspaceId: string, head: ChainHead, throughSeq: number): Promise<string> {
  let expected = head.anchorSeq + 1;
  let prevHash = head.anchorHash;
  while (expected <= throughSeq) {
    const page = await listAuditEventsBySeq(trx, workspaceId, expected - 1, throughSeq, VERIFY_PAGE);
    if (page.length === 0) break;
    for (const event of page) {
      if (event.seq !== expected) throw new AuditPurgeRefusedError(`audit chain has a gap at seq ${expected}: run codex-scim audit verify; nothing was purged`, expected);
      if (event.prevHash !== prevHash || chainHash(event.prevHash, event, canonicalJson(event.data)) !== event.hash) {
        throw new AuditPurgeRefusedError(`audit event seq ${event.seq} does not verify: run codex-scim audit verify; nothing was purged`, event.seq);
      }
      prevHash = event.hash;
      expected++;
    }
  }
  if (expected !== throughSeq + 1) throw new AuditPurgeRefusedError(`audit chain has a gap at seq ${expected}: nothing was purged`, expected);
  // The survivors must continue from the new anchor, or the purge would cut a broken link out of sight.
  const next = await findEventBySeq(trx, workspaceId, throughSeq + 1);
  if (next ? next.prevHash !== prevHash : head.seq !== throughSeq || head.hash !== prevHash) {
    throw new AuditPurgeRefusedError(`audit event seq ${throughSeq + 1} does not continue the chain: nothing was purged`, throughSeq + 1);
  }
  return prevHash;
}

/** One purge transaction: at most `maxEvents` of the oldest events before `cutoff`. Undefined when there is nothing to purge. */
export async function purgeBatch(
  db: Db,
  workspaceId: string,
  cutoff: Date,
  options: { actor?: AuditActor; maxEvents?: number; retentionDays?: number | null } = {},
): Promise<PurgeBatchResult | undefined> {
  const maxEvents = options.maxEvents ?? PURGE_BATCH;
  return db.transaction().execute(async (trx) => {
    await enablePurge(trx);
    const head = await lockHead(trx, workspaceId);
    if (!head) return undefined;
    const end = await findPurgeEnd(trx, workspaceId, head.anchorSeq, cutoff, maxEvents);
    if (!end) return undefined;
    if (end.count !== end.throughSeq - head.anchorSeq) {
      throw new AuditPurgeRefusedError(`audit events below the cutoff are not a contiguous prefix of the chain (occurred_at went backwards): nothing was purged`, end.throughSeq);
    }
    const anchorHash = await verifySegment(trx, workspaceId, head, end.throughSeq);
    await foldIntoCheckpoint(trx, workspaceId, head.anchorSeq, end.throughSeq);
    const deleted = await deleteEventsThrough(trx, workspaceId, head.anchorSeq, end.throughSeq);
    await moveAnchor(trx, workspaceId, end.throughSeq, anchorHash);
    const checkpoint = await checkpointDigest(trx, workspaceId);
    const [eventId] = await appendAuditEvents(trx, { workspaceId, actor: options.actor ?? RETENTION_ACTOR }, [
      {
        type: 'audit.purged',
        targetType: 'workspace',
        targetId: workspaceId,
        data: {
          throughSeq: end.throughSeq,
          throughAt: end.throughAt.toISOString(),
          anchorHash,
          deleted,
          before: cutoff.toISOString(),
          ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
          checkpoint,
        },
      },
    ]);
    return { deleted, throughSeq: end.throughSeq, throughAt: end.throughAt, anchorHash, eventId: eventId!, checkpoint };
  });
}

/** Purges every event of the workspace older than `cutoff`, one batch (transaction) at a time. */
export async function purgeWorkspace(
  db: Db,
  workspaceId: string,
  cutoff: Date,
  options: { actor?: AuditActor; maxEvents?: number; retentionDays?: number | null } = {},
): Promise<PurgeResult> {
  const result: PurgeResult = { workspaceId, cutoff, deleted: 0, batches: [] };
  for (;;) {
    const batch = await purgeBatch(db, workspaceId, cutoff, options);
    if (!batch) return result;
    result.batches.push(batch);
    result.deleted += batch.deleted;
    if (batch.deleted < (options.maxEvents ?? PURGE_BATCH)) return result;
  }
}

export interface RetentionRun {
  purged: PurgeResult[];
  failed: Array<{ workspaceId: string; error: Error }>;
}

/**
 * The scheduled job: every workspace whose retention (own setting, else `serviceDays`) is finite
 * is purged of events older than now − retention. A workspace whose purge is refused (a broken
 * chain) is reported and skipped; the others still run.
 */
export async function runRetention(db: Db, options: { serviceDays: number | undefined; now?: Date; actor?: AuditActor; maxEvents?: number }): Promise<RetentionRun> {
  const now = options.now ?? new Date();
  const run: RetentionRun = { purged: [], failed: [] };
  for (const ws of await listWorkspaceRetention(db)) {
    const days = ws.retentionDays !== undefined ? ws.retentionDays : options.serviceDays;
    if (days === null || days === undefined) continue;
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    try {
      const result = await purgeWorkspace(db, ws.workspaceId, cutoff, { actor: options.actor, maxEvents: options.maxEvents, retentionDays: days });
      if (result.deleted > 0) run.purged.push(result);
    } catch (error) {
      run.failed.push({ workspaceId: ws.workspaceId, error: error as Error });
    }
  }
  return run;
}
