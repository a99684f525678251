import { createHash } from 'node:crypto';
import { AUDIT_EVENT_TYPES, type AuditActor, type AuditActorType, type AuditEvent, type AuditVerifyResult } from '../audit/types.js';
import { consistentRead, type Executor } from '../db/index.js';
import {
  checkpointDigest,
  findCheckpointAccess,
  findEventById,
  findFirstEventTime,
  findLatestPurge,
  groupMembersAsOf as readGroupMembersAsOf,
  hasHistory,
  lastGroupEventAsOf,
  lastTargetEventAsOf,
  lastUserEventAsOf,
  listAuditEvents,
  userGroupsAsOf,
  type AuditEventFilter,
  type PurgeRecord,
} from '../repositories/audit-query.repository.js';
import { findUsersByRef } from '../repositories/effective-access.repository.js';
import { isUuid } from '../repositories/ids.js';
import { DomainError, conflict, invalid } from './admin-errors.js';
import { findGroupByRef } from './admin-directory.service.js';
import { GENESIS_HASH } from '../audit/hash-chain.js';
import { hasSignatures, type NoteVerifier } from '../audit/signed-note.js';
import { findAuditLog } from './audit-log.service.js';
import { verifyAuditLog } from './audit-verify.service.js';
import { decodeCursor, keysetPage, rowsToRead } from './pagination.js';

// Reading the audit trail: the event list with filters and cursors, a user's and a
// group's history, and point-in-time answers replayed from recorded history — member events and
// access.changed events folded onto the retention checkpoint — never from the current tables.

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
/** A user's groups as of a time are listed up to this many (a user is rarely in more). */
export const MAX_USER_GROUPS = 1000;

/** 410: the instant asked about lies before the history the retention purge kept. */
export class AuditHistoryPurgedError extends DomainError {
  override name = 'AuditHistoryPurgedError';
  constructor(readonly historyStartsAt: Date) {
    const message = `Audit history before ${historyStartsAt.toISOString()} has been purged (retention); ask about ${historyStartsAt.toISOString()} or later`;
    super('gone', message, [{ pointer: '/at', detail: message }]);
  }
}

/** An event as the admin API returns it. */
export interface AuditEventView {
  id: string;
  seq: number;
  occurredAt: string;
  type: string;
  actor: AuditActor;
  requestId: string | null;
  target: { type: string; id: string };
  data: Record<string, unknown>;
  causeId: string | null;
  leafIndex: number | null;
  prevHash: string | null;
  hash: string | null;
}

export function toEventView(e: AuditEvent): AuditEventView {
  return {
    id: e.id,
    seq: e.seq,
    occurredAt: e.occurredAt.toISOString(),
    type: e.type,
    actor: e.actor,
    requestId: e.requestId,
    target: { type: e.targetType, id: e.targetId },
    data: e.data,
    causeId: e.causeId,
    leafIndex: e.leafIndex,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

export interface EventQuery {
  from?: Date;
  to?: Date;
  /** Exact event types, e.g. group.member_added; `group.*` means every type of that prefix. */
  types?: readonly string[];
  userId?: string;
  groupId?: string;
  actorId?: string;
  actorType?: AuditActorType;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
}

export interface EventPage {
  items: AuditEventView[];
  nextCursor: string | null;
}

// ---------------------------------------------------------------------------------------------
// Cursors: opaque, bound to the filter they were issued for (a cursor of another query is refused
// rather than silently paging something else).

function fingerprint(workspaceId: string, filter: AuditEventFilter, order: string): string {
  const canonical = JSON.stringify([
    workspaceId,
    filter.from?.toISOString() ?? null,
    filter.to?.toISOString() ?? null,
    filter.types ? [...filter.types].sort() : null,
    filter.userId ?? null,
    filter.groupId ?? null,
    filter.actorId ?? null,
    filter.actorType ?? null,
    order,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

function checkLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE) throw invalid('limit', `limit must be an integer from 1 to ${MAX_PAGE}`);
  return value;
}

const TYPE_PATTERN = /^[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?$/;

/** `group.*` expands to the catalogue types of that prefix; anything else is taken as is. */
function expandTypes(types: readonly string[] | undefined): string[] | undefined {
  if (!types || types.length === 0) return undefined;
  const out = new Set<string>();
  for (const raw of types) {
    const type = raw.trim();
    if (!TYPE_PATTERN.test(type)) throw invalid('type', `type ${JSON.stringify(raw)} is not an event type (e.g. group.member_added or group.*)`);
    if (type.endsWith('.*')) {
      const prefix = type.slice(0, -1);
      for (const t of AUDIT_EVENT_TYPES) if (t.startsWith(prefix)) out.add(t);
    } else {
      out.add(type);
    }
  }
  // A prefix naming no catalogue type matches nothing, rather than everything.
  return out.size > 0 ? [...out] : ['-'];
}

function lowerUuid(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isUuid(value)) throw invalid(field, `${field} must be a uuid`);
  return value.toLowerCase();
}

/** A keyset page of the workspace's events in seq order, filtered. */
export async function listEvents(db: Executor, workspaceId: string, query: EventQuery): Promise<EventPage> {
  const limit = checkLimit(query.limit);
  const order = query.order ?? 'asc';
  if (query.from && query.to && query.from.getTime() >= query.to.getTime()) throw invalid('from', 'from must be earlier than to');
  const filter: AuditEventFilter = {
    from: query.from,
    to: query.to,
    types: expandTypes(query.types),
    userId: lowerUuid(query.userId, 'userId'),
    groupId: lowerUuid(query.groupId, 'groupId'),
    actorId: query.actorId,
    actorType: query.actorType,
  };
  const print = fingerprint(workspaceId, filter, order);
  // A cursor carries the fingerprint of its query's filters and order: the next page of another query is refused.
  const afterSeq = decodeCursor(query.cursor, 2, ([seq, p]) => Number.isSafeInteger(seq) && p === print)?.[0] as number | undefined;
  const events = await listAuditEvents(db, workspaceId, filter, { afterSeq, order, limit: rowsToRead(limit) });
  const page = keysetPage(events, limit, (e) => [e.seq, print]);
  return { items: page.rows.map(toEventView), nextCursor: page.nextCursor };
}

/**
 * The user named by id, or — when it still exists — by userName or email. A deleted user's
 * history is reachable by id only (the current tables no longer know its name).
 */
export async function resolveUserId(db: Executor, workspaceId: string, userRef: string): Promise<string> {
  if (isUuid(userRef)) return userRef.toLowerCase();
  const ids = await findUsersByRef(db, workspaceId, userRef);
  if (ids.length === 0) throw new DomainError('not_found', `No user ${JSON.stringify(userRef)} in this workspace (a deleted user is found by its id)`);
  if (ids.length > 1) throw conflict(`${JSON.stringify(userRef)} names ${ids.length} users; use a user id`, 'user');
  return ids[0]!;
}

/** Everything about a user: events targeting it and member events naming it. */
export async function userHistory(db: Executor, workspaceId: string, userRef: string, query: Omit<EventQuery, 'userId' | 'groupId'>): Promise<EventPage & { userId: string }> {
  const userId = await resolveUserId(db, workspaceId, userRef);
  return { userId, ...(await listEvents(db, workspaceId, { ...query, userId })) };
}

/** Everything about a group: events targeting it (members included) and mapping events naming it. */
/**
 * A group the trail knows: a current group by id, externalId or displayName, or a deleted one by
 * the id its events name. 404 when neither.
 */
export async function historyGroupId(db: Executor, workspaceId: string, ref: string): Promise<string> {
  const current = await findGroupByRef(db, workspaceId, ref);
  if (current !== undefined) return current;
  if (isUuid(ref) && (await hasHistory(db, workspaceId, 'group', ref.toLowerCase()))) return ref.toLowerCase();
  throw new DomainError('not_found', `No group ${JSON.stringify(ref)} in this workspace or its audit trail`);
}

export async function groupHistory(db: Executor, workspaceId: string, groupRef: string, query: Omit<EventQuery, 'userId' | 'groupId'>): Promise<EventPage & { groupId: string }> {
  const id = await historyGroupId(db, workspaceId, groupRef);
  return { groupId: id, ...(await listEvents(db, workspaceId, { ...query, groupId: id })) };
}

// ---------------------------------------------------------------------------------------------
// Point in time

/** Where the recorded history of a workspace starts, and on what basis answers rest. */
export interface HistoryBasis {
  /** The earliest instant an answer is exact for; null: from the beginning (nothing purged, or no events). */
  historyStartsAt: string | null;
  /** The retention checkpoint the replay starts from (seq of the last purged event); null when nothing was purged. */
  checkpointSeq: number | null;
  /** The oldest stored event's time. */
  firstEventAt: string | null;
}

async function historyBasis(db: Executor, workspaceId: string, at: Date): Promise<{ basis: HistoryBasis; purge: PurgeRecord | undefined }> {
  const [purge, first] = await Promise.all([findLatestPurge(db, workspaceId), findFirstEventTime(db, workspaceId)]);
  const startsAt = purge ? (purge.throughAt ?? purge.occurredAt) : null;
  if (startsAt && at.getTime() < startsAt.getTime()) throw new AuditHistoryPurgedError(startsAt);
  return {
    purge,
    basis: { historyStartsAt: startsAt?.toISOString() ?? null, checkpointSeq: purge ? purge.throughSeq : null, firstEventAt: first?.toISOString() ?? null },
  };
}


export interface MemberAsOfView {
  userId: string;
  /** When this membership began. */
  since: string;
  /** Its group.member_added event; null when purged (the retention checkpoint vouches for it). */
  eventId: string | null;
}

export interface GroupMembersAsOf {
  at: string;
  group: { id: string; displayName: string | null; state: 'not_created' | 'exists' | 'deleted' | 'unknown' };
  members: MemberAsOfView[];
  nextCursor: string | null;
  basis: HistoryBasis;
}

/** Members of a group at instant `at`, replayed from its member events (keyset pages by user id). */
export async function groupMembersAsOf(
  db: Executor,
  workspaceId: string,
  groupIdRaw: string,
  at: Date,
  page: { cursor?: string; limit?: number } = {},
): Promise<GroupMembersAsOf> {
  const groupId = await historyGroupId(db, workspaceId, groupIdRaw);
  const limit = checkLimit(page.limit);
  // A cursor carries its instant: the next page of another `at` is refused.
  const afterId = decodeCursor(page.cursor, 2, ([id, ms]) => typeof id === 'string' && isUuid(id) && ms === at.getTime())?.[0] as string | undefined;
  // One snapshot: a purge committing midway would move events into the checkpoint between two queries.
  return consistentRead(db, async (db) => {
    const { basis, purge } = await historyBasis(db, workspaceId, at);
    if (!(await hasHistory(db, workspaceId, 'group', groupId))) throw new DomainError('not_found', `The audit trail records no group ${groupId}`);
    const [rows, lifecycle] = await Promise.all([
      readGroupMembersAsOf(db, workspaceId, groupId, at, { afterId, limit: rowsToRead(limit) }),
      lastGroupEventAsOf(db, workspaceId, groupId, at, ['group.created', 'group.renamed', 'group.deleted']),
    ]);
    const { rows: members, nextCursor } = keysetPage(rows, limit, (m) => [m.id, at.getTime()]);
    let state: GroupMembersAsOf['group']['state'];
    if (lifecycle) state = lifecycle.type === 'group.deleted' ? 'deleted' : 'exists';
    else if (purge) state = members.length > 0 ? 'exists' : 'unknown';
    else state = 'not_created';
    const name = lifecycle?.type === 'group.renamed' ? lifecycle.data.to : lifecycle?.data.displayName;
    const displayName = typeof name === 'string' ? name : null;
    return {
      at: at.toISOString(),
      group: { id: groupId, displayName, state },
      members: members.map((m) => ({ userId: m.id, since: m.since.toISOString(), eventId: m.eventId })),
      nextCursor,
      basis,
    };
  });
}

export interface EffectivePermissionsAsOf {
  at: string;
  user: { id: string; userName: string | null; state: 'not_created' | 'active' | 'deactivated' | 'deleted' | 'unknown' };
  /** Sorted permission keys the user held at `at`. */
  granted: string[];
  /** Since when exactly this set was held (the access.changed event that set it); null: never changed (held nothing). */
  since: string | null;
  /** Where the answer comes from: the last access.changed event, the retention checkpoint, or nothing recorded (no access). */
  source: 'event' | 'checkpoint' | 'none';
  /** The access.changed event that set `granted`, and the change that caused it. */
  changedBy: {
    eventId: string;
    actor: AuditActor;
    cause: { id: string; type: string | null; targetType: string | null; targetId: string | null } | null;
  } | null;
  /** The user's group memberships at `at` (up to MAX_USER_GROUPS). */
  groups: Array<{ groupId: string; since: string; eventId: string | null }>;
  groupsTruncated: boolean;
  basis: HistoryBasis;
}

/** A user's effective permissions at instant `at`, from the access.changed events recorded for it. */
export async function effectivePermissionsAsOf(db: Executor, workspaceId: string, userRef: string, at: Date): Promise<EffectivePermissionsAsOf> {
  return consistentRead(db, async (db) => {
    const userId = await resolveUserId(db, workspaceId, userRef);
    const { basis, purge } = await historyBasis(db, workspaceId, at);
    if (!(await hasHistory(db, workspaceId, 'user', userId))) throw new DomainError('not_found', `The audit trail records no user ${userId}`);
    const [change, checkpoint, lifecycle, named, groups] = await Promise.all([
      lastTargetEventAsOf(db, workspaceId, { type: 'user', id: userId }, at, ['access.changed']),
      findCheckpointAccess(db, workspaceId, userId),
      lastUserEventAsOf(db, workspaceId, userId, at, ['user.created', 'user.deactivated', 'user.reactivated', 'user.deleted']),
      lastUserEventAsOf(db, workspaceId, userId, at, ['user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted']),
      userGroupsAsOf(db, workspaceId, userId, at, { limit: MAX_USER_GROUPS + 1 }),
    ]);

    let state: EffectivePermissionsAsOf['user']['state'];
    if (!lifecycle) state = purge ? 'unknown' : 'not_created';
    else if (lifecycle.type === 'user.deleted') state = 'deleted';
    else if (lifecycle.type === 'user.deactivated') state = 'deactivated';
    else if (lifecycle.type === 'user.reactivated') state = 'active';
    else state = (lifecycle.data.attributes as { active?: unknown } | undefined)?.active === false ? 'deactivated' : 'active';
    const userName = typeof named?.data.userName === 'string' ? named.data.userName : null;

    let granted: string[] = [];
    let since: string | null = null;
    let source: EffectivePermissionsAsOf['source'] = 'none';
    let changedBy: EffectivePermissionsAsOf['changedBy'] = null;
    if (change) {
      const after = change.data.after;
      granted = Array.isArray(after) ? after.map(String) : [];
      since = change.occurredAt.toISOString();
      source = 'event';
      const cause = change.causeId ? await findEventById(db, workspaceId, change.causeId) : undefined;
      changedBy = {
        eventId: change.id,
        actor: change.actor,
        cause: change.causeId
          ? { id: change.causeId, type: cause?.type ?? null, targetType: cause?.targetType ?? null, targetId: cause?.targetId ?? null }
          : null,
      };
    } else if (checkpoint) {
      granted = checkpoint.granted;
      since = checkpoint.since.toISOString();
      source = 'checkpoint';
    }
    return {
      at: at.toISOString(),
      user: { id: userId, userName, state },
      granted: [...granted].sort(),
      since,
      source,
      changedBy,
      groups: groups.slice(0, MAX_USER_GROUPS).map((g) => ({ groupId: g.id, since: g.since.toISOString(), eventId: g.eventId })),
      groupsTruncated: groups.length > MAX_USER_GROUPS,
      basis,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Verify

export type CheckpointProblem = 'purge_record_missing' | 'anchor_mismatch' | 'checkpoint_mismatch' | 'checkpoint_without_purge';

export interface AuditVerifyReport extends AuditVerifyResult {
  workspaceId: string;
  /** The Merkle log as checked: its size and root (base64), and whether its checkpoint is signed. */
  tree: { size: number; rootHash: string | null; signed: boolean };
  /** The old hash chain's anchor (where its survivors start after a purge) and end. */
  anchor: { seq: number; hash: string };
  /** The retention checkpoint the history starts from, checked against its audit.purged record. */
  checkpoint: { ok: boolean; throughSeq: number; members: number; access: number; problem?: CheckpointProblem } | null;
}

// Each retry is caused by a purge batch that committed meanwhile; purges end (nothing older than
// the cutoff is left), so this bound is only a guard.
const MAX_VERIFY_ATTEMPTS = 50;

/**
 * The Merkle log and the old chain (verifyAuditLog) plus the retention checkpoint: the newest
 * audit.purged event must name how far the purge went, and the checkpoint tables must still hash
 * to the digest it recorded. A purge that commits while the log is being walked deletes events,
 * which would look like missing ones: when the purge moved meanwhile, the walk restarts. The
 * checkpoint is checked in one snapshot with the log row it belongs to, so a purge cannot split it.
 */
export async function verifyAudit(db: Executor, workspaceId: string, options: { pageSize?: number; verifier?: NoteVerifier } = {}): Promise<AuditVerifyReport> {
  for (let attempt = 1; ; attempt++) {
    const before = await findAuditLog(db, workspaceId);
    const { log, ...result } = await verifyAuditLog(db, workspaceId, options);
    const after = await findAuditLog(db, workspaceId);
    if (!result.ok && attempt < MAX_VERIFY_ATTEMPTS && (after?.purgedThrough ?? 0) !== (before?.purgedThrough ?? 0)) continue;
    const checkpoint = await verifyCheckpoint(db, workspaceId);
    return {
      workspaceId,
      ...result,
      ok: result.ok && (checkpoint === null || checkpoint.ok),
      tree: { size: log?.treeSize ?? 0, rootHash: log?.rootHash?.toString('base64') ?? null, signed: log?.checkpoint ? hasSignatures(log.checkpoint) : false },
      anchor: { seq: log?.anchorSeq ?? 0, hash: log?.anchorHash ?? GENESIS_HASH },
      checkpoint,
    };
  }
}

async function verifyCheckpoint(db: Executor, workspaceId: string): Promise<AuditVerifyReport['checkpoint']> {
  return consistentRead(db, async (db) => {
    const [log, purge, digest] = await Promise.all([findAuditLog(db, workspaceId), findLatestPurge(db, workspaceId), checkpointDigest(db, workspaceId)]);
    const purgedThrough = log?.purgedThrough ?? 0;
    if (purgedThrough === 0) {
      if (digest.members === 0 && digest.access === 0) return null;
      return { ok: false, throughSeq: 0, members: digest.members, access: digest.access, problem: 'checkpoint_without_purge' };
    }
    const base = { throughSeq: purgedThrough, members: digest.members, access: digest.access };
    if (!purge || !purge.checkpoint) return { ok: false, ...base, problem: 'purge_record_missing' };
    if (purge.throughSeq !== purgedThrough || purge.anchorHash !== log?.anchorHash) return { ok: false, ...base, problem: 'anchor_mismatch' };
    if (purge.checkpoint.sha256 !== digest.sha256) return { ok: false, ...base, problem: 'checkpoint_mismatch' };
    return { ok: true, ...base };
  });
}
