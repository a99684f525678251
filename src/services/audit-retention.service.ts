import type { Transaction } from 'kysely';
import { canonicalJson, chainHash } from '../audit/hash-chain.js';
import { eventLeafHash } from '../audit/leaf.js';
import { sealPending, type SealOptions } from '../audit/sealer.js';
import type { AuditActor, AuditContext } from '../audit/types.js';
import type { Database, Db, Executor } from '../db/index.js';
import { commit } from './commit.js';
import {
  advancePurge,
  checkpointDigest,
  deleteEventsThrough,
  deleteRetentionSetting,
  enablePurge,
  findPurgeEnd,
  findRetentionDays,
  foldIntoCheckpoint,
  listWorkspaceRetention,
  listEventsBySeq,
  upsertRetentionDays,
  type CheckpointSummary,
} from '../repositories/audit-query.repository.js';
import { invalid } from './admin-errors.js';

// Retention: how long a workspace keeps its audit events, and the purge that removes
// older ones. A purge batch is one transaction holding the workspace's log row (the sealer of
// that workspace waits; writers do not): it takes a sealed prefix of the events in seq order,
// checks each against its leaf — a purge must never erase the evidence of tampering —, folds
// their memberships and access into the checkpoint, records itself as an audit.purged event, and
// only then deletes them (the append-only trigger lets a transaction delete only what its own
// audit.purged record covers). The tree keeps every leaf hash, so what was purged stays provable
// from any signed checkpoint; the events of the old hash chain move its anchor.

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
      await commit(trx, audit, [
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

async function lockLog(trx: Transaction<Database>, workspaceId: string) {
  const row = await trx.selectFrom('audit_logs').selectAll().where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirst();
  return row && { purgedThrough: Number(row.purged_through), anchorSeq: Number(row.anchor_seq), anchorHash: row.anchor_hash };
}

/**
 * Checks each event of (afterSeq, throughSeq] against its leaf, and the old chain's links among
 * them; returns where the old chain's survivors start afterwards (undefined: no old event here).
 */
async function verifySegment(trx: Executor, workspaceId: string, afterSeq: number, throughSeq: number, anchorHash: string): Promise<{ seq: number; hash: string } | undefined> {
  let anchor: { seq: number; hash: string } | undefined;
  let prevHash = anchorHash;
  for (let after = afterSeq; after < throughSeq; ) {
    const page = await listEventsBySeq(trx, workspaceId, after, throughSeq, VERIFY_PAGE);
    if (page.length === 0) break;
    const leaves = await trx
      .selectFrom('audit_tree_nodes')
      .select(['index', 'hash'])
      .where('workspace_id', '=', workspaceId)
      .where('level', '=', 0)
      .where('index', 'in', page.map((e) => e.leafIndex!))
      .execute();
    const leafOf = new Map(leaves.map((l) => [Number(l.index), Buffer.from(l.hash)]));
    for (const event of page) {
      if (!leafOf.get(event.leafIndex!)?.equals(eventLeafHash(event))) {
        throw new AuditPurgeRefusedError(`audit event seq ${event.seq} does not match its leaf in the Merkle log: run codex-scim audit verify; nothing was purged`, event.seq);
      }
      if (event.hash !== null) {
        if (event.prevHash !== prevHash || chainHash(event.prevHash, event, canonicalJson(event.data)) !== event.hash) {
          throw new AuditPurgeRefusedError(`audit event seq ${event.seq} breaks the old hash chain: run codex-scim audit verify; nothing was purged`, event.seq);
        }
        prevHash = event.hash;
        anchor = { seq: event.seq, hash: event.hash };
      }
    }
    after = page[page.length - 1]!.seq;
  }
  return anchor;
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
    const log = await lockLog(trx, workspaceId);
    if (!log) return undefined;
    const end = await findPurgeEnd(trx, workspaceId, log.purgedThrough, cutoff, maxEvents);
    if (!end) return undefined;
    const anchor = await verifySegment(trx, workspaceId, log.purgedThrough, end.throughSeq, log.anchorHash);
    const anchorHash = anchor?.hash ?? log.anchorHash;
    await foldIntoCheckpoint(trx, workspaceId, log.purgedThrough, end.throughSeq);
    const checkpoint = await checkpointDigest(trx, workspaceId);
    const {
      eventIds: [eventId],
    } = await commit(trx, { workspaceId, actor: options.actor ?? RETENTION_ACTOR }, [
      {
        type: 'audit.purged',
        targetType: 'workspace',
        targetId: workspaceId,
        data: {
          throughSeq: end.throughSeq,
          throughAt: end.throughAt.toISOString(),
          anchorHash,
          deleted: end.count,
          before: cutoff.toISOString(),
          ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
          checkpoint,
        },
      },
    ]);
    const deleted = await deleteEventsThrough(trx, workspaceId, log.purgedThrough, end.throughSeq);
    if (deleted !== end.count) throw new Error(`purge of workspace ${workspaceId} deleted ${deleted} events, expected ${end.count}`);
    await advancePurge(trx, workspaceId, end.throughSeq, anchor);
    return { deleted, throughSeq: end.throughSeq, throughAt: end.throughAt, anchorHash, eventId: eventId!, checkpoint };
  });
}

/**
 * Purges every event of the workspace older than `cutoff`, one batch (transaction) at a time.
 * Only sealed events are purged: with `seal`, whatever has committed is sealed first.
 */
export async function purgeWorkspace(
  db: Db,
  workspaceId: string,
  cutoff: Date,
  options: { actor?: AuditActor; maxEvents?: number; retentionDays?: number | null; seal?: SealOptions } = {},
): Promise<PurgeResult> {
  if (options.seal) await sealPending(db, options.seal);
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
export async function runRetention(
  db: Db,
  options: { serviceDays: number | undefined; now?: Date; actor?: AuditActor; maxEvents?: number; seal?: SealOptions },
): Promise<RetentionRun> {
  const now = options.now ?? new Date();
  if (options.seal) await sealPending(db, options.seal);
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
