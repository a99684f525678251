import { sql } from 'kysely';
import type { AuditActorType, AuditEvent } from '../audit/types.js';
import type { Executor } from '../db/index.js';
import { toAuditEvent } from './audit.repository.js';

// Reading the audit trail: filtered keyset pages, point-in-time replays of memberships
// and effective access, export windows, and the retention purge with its checkpoint
// (migrations/2026112105_audit_retention.ts). Appending stays in audit.repository.ts.
//
// Facts of the append path and the sealer that everything here leans on:
// - a group's or a user's events are in commit order by seq (writers insert them under the row
//   lock of what they change), which is what the point-in-time replays need;
// - the sealer seals a prefix of seq order, so listings page sealed events only: a reader that
//   has seen sealed seq N will never see an event below N appear later. Readers call the sealer
//   first (sealPending), so everything committed before the request is sealed.
// - occurred_at is taken when the events are inserted, before commit; it is non-decreasing per
//   group and user, not across the workspace.

const USER_LIFECYCLE_TYPES = ['user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted'];
const GROUP_LIFECYCLE_TYPES = ['group.created', 'group.renamed', 'group.deleted'];

export interface AuditEventFilter {
  /** occurred_at >= from */
  from?: Date;
  /** occurred_at < to */
  to?: Date;
  types?: readonly string[];
  /** Events about the user: targeting it (user.*, access.changed, …) or naming it in data.userId (member events). */
  userId?: string;
  /** Events about the group: targeting it (group.*, member events) or naming it in data.groupId (mappings). */
  groupId?: string;
  actorId?: string;
  actorType?: AuditActorType;
}

export interface SeqPage {
  /** Exclusive keyset position: seq > afterSeq (asc) or seq < afterSeq (desc). */
  afterSeq?: number;
  order: 'asc' | 'desc';
  limit: number;
}

export async function listAuditEvents(db: Executor, workspaceId: string, filter: AuditEventFilter, page: SeqPage): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().where('workspace_id', '=', workspaceId);
  if (filter.from) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to) query = query.where('occurred_at', '<', filter.to);
  if (filter.types && filter.types.length > 0) query = query.where('event_type', 'in', [...filter.types]);
  if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId);
  if (filter.actorType !== undefined) query = query.where('actor_type', '=', filter.actorType);
  const { userId, groupId } = filter;
  if (userId !== undefined) {
    query = query.where((eb) =>
      eb.or([eb.and([eb('target_type', '=', 'user'), eb('target_id', '=', userId)]), eb(sql<string>`data->>'userId'`, '=', userId)]),
    );
  }
  if (groupId !== undefined) {
    query = query.where((eb) =>
      eb.or([eb.and([eb('target_type', '=', 'group'), eb('target_id', '=', groupId)]), eb(sql<string>`data->>'groupId'`, '=', groupId)]),
    );
  }
  if (page.afterSeq !== undefined) query = query.where('seq', page.order === 'asc' ? '>' : '<', page.afterSeq);
  const rows = await query.where('leaf_index', 'is not', null).orderBy('seq', page.order).limit(page.limit).execute();
  return rows.map(toAuditEvent);
}

// ---------------------------------------------------------------------------------------------
// Checkpoint and history start

export interface PurgeRecord {
  eventId: string;
  seq: number;
  occurredAt: Date;
  /** The last purged event: the checkpoint is the state right after it. */
  throughSeq: number;
  /** occurred_at of that event; the state is known from this instant on. */
  throughAt: Date | null;
  anchorHash: string;
  checkpoint: CheckpointSummary | null;
}

export interface CheckpointSummary {
  members: number;
  access: number;
  sha256: string;
}

/** The newest audit.purged event: it describes the anchor and the checkpoint in force. */
export async function findLatestPurge(db: Executor, workspaceId: string): Promise<PurgeRecord | undefined> {
  const row = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('event_type', '=', 'audit.purged')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const event = toAuditEvent(row);
  const data = event.data as { throughSeq?: number; throughAt?: string; anchorHash?: string; checkpoint?: CheckpointSummary };
  return {
    eventId: event.id,
    seq: event.seq,
    occurredAt: event.occurredAt,
    throughSeq: Number(data.throughSeq ?? 0),
    throughAt: typeof data.throughAt === 'string' ? new Date(data.throughAt) : null,
    anchorHash: String(data.anchorHash ?? ''),
    checkpoint: data.checkpoint ?? null,
  };
}

/** occurred_at of the oldest stored event (undefined when there is none). */
export async function findFirstEventTime(db: Executor, workspaceId: string): Promise<Date | undefined> {
  const row = await db.selectFrom('audit_events').select('occurred_at').where('workspace_id', '=', workspaceId).orderBy('seq').limit(1).executeTakeFirst();
  return row ? new Date(row.occurred_at) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Point in time

export interface MembershipAsOf {
  /** The group (members of a group) or the user (groups of a user). */
  id: string;
  /** When the membership began; for a membership older than the checkpoint, when it began as the checkpoint recorded it. */
  since: Date;
  /** The group.member_added event; null when it was purged (the checkpoint vouches for the membership). */
  eventId: string | null;
}

/**
 * Folds the member events of one group (or of one user, across groups) up to `at` onto the
 * checkpoint: the last event per pair decides. A keyset page over the other side's id.
 */
async function membershipsAsOf(
  db: Executor,
  workspaceId: string,
  side: 'group' | 'user',
  id: string,
  at: Date,
  page: { afterId?: string; limit: number },
): Promise<MembershipAsOf[]> {
  const checkpoint =
    side === 'group'
      ? sql`select user_id as other, true as added, 0::bigint as seq, since, null::uuid as event_id
              from audit_checkpoint_members where workspace_id = ${workspaceId} and group_id = ${id}`
      : sql`select group_id as other, true as added, 0::bigint as seq, since, null::uuid as event_id
              from audit_checkpoint_members where workspace_id = ${workspaceId} and user_id = ${id}`;
  // Member events target the group and carry the user in data.userId (src/audit/types.ts).
  const events =
    side === 'group'
      ? sql`select (data->>'userId') collate "C" as other, event_type = 'group.member_added' as added, seq, occurred_at as since, id as event_id
              from audit_events
             where workspace_id = ${workspaceId} and target_type = 'group' and target_id = ${id}
               and event_type in ('group.member_added', 'group.member_removed') and occurred_at <= ${at}
               and data->>'userId' is not null`
      : sql`select target_id as other, event_type = 'group.member_added' as added, seq, occurred_at as since, id as event_id
              from audit_events
             where workspace_id = ${workspaceId} and data->>'userId' = ${id} and target_type = 'group'
               and event_type in ('group.member_added', 'group.member_removed') and occurred_at <= ${at}`;
  const after = page.afterId === undefined ? sql`` : sql`and other > ${page.afterId}`;
  const result = await sql<{ other: string; since: Date | string; event_id: string | null }>`
    select other, since, event_id from (
      select distinct on (other) other, added, since, event_id
        from (${checkpoint} union all ${events}) as x
       order by other, seq desc
    ) as last
    where added ${after}
    order by other
    limit ${page.limit}`.execute(db);
  return result.rows.map((r) => ({ id: r.other, since: new Date(r.since), eventId: r.event_id }));
}

export function groupMembersAsOf(db: Executor, workspaceId: string, groupId: string, at: Date, page: { afterId?: string; limit: number }) {
  return membershipsAsOf(db, workspaceId, 'group', groupId, at, page);
}

export function userGroupsAsOf(db: Executor, workspaceId: string, userId: string, at: Date, page: { afterId?: string; limit: number }) {
  return membershipsAsOf(db, workspaceId, 'user', userId, at, page);
}

/** The last event of `types` targeting the object up to `at` (lifecycle: created, renamed, deleted…). */
export async function lastTargetEventAsOf(
  db: Executor,
  workspaceId: string,
  target: { type: 'user' | 'group'; id: string },
  at: Date,
  types: readonly string[],
): Promise<AuditEvent | undefined> {
  const row = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('target_type', '=', target.type)
    .where('target_id', '=', target.id)
    .where('event_type', 'in', [...types])
    .where('occurred_at', '<=', at)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toAuditEvent(row) : undefined;
}

export const lastUserEventAsOf = (db: Executor, workspaceId: string, userId: string, at: Date, types: readonly string[] = USER_LIFECYCLE_TYPES) =>
  lastTargetEventAsOf(db, workspaceId, { type: 'user', id: userId }, at, types);
export const lastGroupEventAsOf = (db: Executor, workspaceId: string, groupId: string, at: Date, types: readonly string[] = GROUP_LIFECYCLE_TYPES) =>
  lastTargetEventAsOf(db, workspaceId, { type: 'group', id: groupId }, at, types);

/** Whether anything in the trail (or the checkpoint) mentions the group / user at all. */
export async function hasHistory(db: Executor, workspaceId: string, side: 'group' | 'user', id: string): Promise<boolean> {
  const mention =
    side === 'group'
      ? sql`exists (select 1 from audit_events where workspace_id = ${workspaceId} and target_type = 'group' and target_id = ${id})
            or exists (select 1 from audit_checkpoint_members where workspace_id = ${workspaceId} and group_id = ${id})`
      : sql`exists (select 1 from audit_events where workspace_id = ${workspaceId} and target_type = 'user' and target_id = ${id})
            or exists (select 1 from audit_events where workspace_id = ${workspaceId} and data->>'userId' = ${id})
            or exists (select 1 from audit_checkpoint_members where workspace_id = ${workspaceId} and user_id = ${id})
            or exists (select 1 from audit_checkpoint_access where workspace_id = ${workspaceId} and user_id = ${id})`;
  const result = await sql<{ found: boolean }>`select (${mention}) as found`.execute(db);
  return result.rows[0]?.found === true;
}

export async function findCheckpointAccess(db: Executor, workspaceId: string, userId: string): Promise<{ granted: string[]; since: Date } | undefined> {
  const result = await sql<{ granted: string[]; since: Date | string }>`
    select granted, since from audit_checkpoint_access where workspace_id = ${workspaceId} and user_id = ${userId}`.execute(db);
  const row = result.rows[0];
  return row ? { granted: row.granted, since: new Date(row.since) } : undefined;
}

export async function findEventById(db: Executor, workspaceId: string, id: string): Promise<AuditEvent | undefined> {
  const row = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return row ? toAuditEvent(row) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Export windows

export interface WindowCount {
  start: Date;
  events: number;
}

/** Per UTC hour in [from, to): how many events. Hours without events are absent. */
export async function countEventsByHour(db: Executor, workspaceId: string, from: Date, to: Date): Promise<WindowCount[]> {
  const result = await sql<{ hour: Date | string; events: number }>`
    select date_trunc('hour', occurred_at at time zone 'UTC') at time zone 'UTC' as hour, count(*)::int as events
      from audit_events
     where workspace_id = ${workspaceId} and occurred_at >= ${from} and occurred_at < ${to}
     group by 1
     order by 1`.execute(db);
  return result.rows.map((r) => ({ start: new Date(r.hour), events: Number(r.events) }));
}

/** occurred_at of the first event at or after `from` (undefined when there is none). */
export async function findFirstEventTimeFrom(db: Executor, workspaceId: string, from: Date): Promise<Date | undefined> {
  const row = await db
    .selectFrom('audit_events')
    .select('occurred_at')
    .where('workspace_id', '=', workspaceId)
    .where('occurred_at', '>=', from)
    .orderBy('occurred_at')
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  return row ? new Date(row.occurred_at) : undefined;
}

/** Sealed events of [from, to) in leaf order, leaf_index in (afterLeaf, beforeLeaf): keyset pages for exports. */
export async function listSealedEventsInWindow(
  db: Executor,
  workspaceId: string,
  window: { from?: Date; to?: Date },
  afterLeaf: number,
  beforeLeaf: number,
  limit: number,
): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().where('workspace_id', '=', workspaceId).where('leaf_index', '>', afterLeaf).where('leaf_index', '<', beforeLeaf);
  if (window.from) query = query.where('occurred_at', '>=', window.from);
  if (window.to) query = query.where('occurred_at', '<', window.to);
  const rows = await query.orderBy('leaf_index').limit(limit).execute();
  return rows.map(toAuditEvent);
}

/**
 * The earliest instant an event not yet visible could still carry: the start of the oldest
 * transaction now writing to the database (its events are stamped after it began), and the time
 * of the oldest committed event the sealer has not reached. Undefined when neither exists.
 * Used to decide which export windows are complete. On PGlite, one connection: nothing is in flight.
 */
export async function oldestPendingEventTime(db: Executor, workspaceId: string): Promise<Date | undefined> {
  const result = await sql<{ t: Date | string | null }>`
    select least(
      (select min(xact_start) from pg_stat_activity
        where datname = current_database() and backend_xid is not null and pid <> pg_backend_pid()),
      (select min(occurred_at) from audit_events where workspace_id = ${workspaceId} and leaf_index is null)) as t`.execute(db);
  const t = result.rows[0]?.t;
  return t ? new Date(t) : undefined;
}

export async function findWorkspaceName(db: Executor, workspaceId: string): Promise<string | undefined> {
  const row = await db.selectFrom('workspaces').select('name').where('id', '=', workspaceId).executeTakeFirst();
  return row?.name;
}

// ---------------------------------------------------------------------------------------------
// Retention

/** undefined: no row (the service default applies); null: keep everything; else days. */
export async function findRetentionDays(db: Executor, workspaceId: string): Promise<number | null | undefined> {
  const result = await sql<{ retention_days: number | null }>`
    select retention_days from audit_retention_settings where workspace_id = ${workspaceId}`.execute(db);
  const row = result.rows[0];
  return row === undefined ? undefined : row.retention_days;
}

export async function upsertRetentionDays(db: Executor, workspaceId: string, days: number | null): Promise<void> {
  await sql`
    insert into audit_retention_settings (workspace_id, retention_days, updated_at) values (${workspaceId}, ${days}, now())
    on conflict (workspace_id) do update set retention_days = excluded.retention_days, updated_at = excluded.updated_at`.execute(db);
}

export async function deleteRetentionSetting(db: Executor, workspaceId: string): Promise<void> {
  await sql`delete from audit_retention_settings where workspace_id = ${workspaceId}`.execute(db);
}

/** Every workspace with its retention row (null when it has none), for the scheduled purge. */
export async function listWorkspaceRetention(db: Executor): Promise<Array<{ workspaceId: string; name: string; retentionDays: number | null | undefined }>> {
  const result = await sql<{ id: string; name: string; has_row: boolean; retention_days: number | null }>`
    select w.id, w.name, s.workspace_id is not null as has_row, s.retention_days
      from workspaces w left join audit_retention_settings s on s.workspace_id = w.id
     order by w.name`.execute(db);
  return result.rows.map((r) => ({ workspaceId: r.id, name: r.name, retentionDays: r.has_row ? r.retention_days : undefined }));
}

/** Runs `set local bridge.audit_purge = 'on'`: the flag the checkpoint tables' triggers honour. */
export async function enablePurge(trx: Executor): Promise<void> {
  await sql`set local bridge.audit_purge = 'on'`.execute(trx);
}

/**
 * The purgeable prefix after `afterSeq`: of the next `maxEvents` events in seq order, those
 * before the first one that is at or after the cutoff or not yet sealed. Its last seq and time,
 * and how many events it holds.
 */
export async function findPurgeEnd(
  db: Executor,
  workspaceId: string,
  afterSeq: number,
  cutoff: Date,
  maxEvents: number,
): Promise<{ throughSeq: number; throughAt: Date; count: number } | undefined> {
  const result = await sql<{ through_seq: number | null; through_at: Date | string | null; n: number }>`
    with next as (
      select seq, occurred_at, leaf_index from audit_events
       where workspace_id = ${workspaceId} and seq > ${afterSeq} order by seq limit ${maxEvents}
    ),
    stop as (select min(seq) as seq from next where occurred_at >= ${cutoff} or leaf_index is null)
    select max(seq) as through_seq, max(occurred_at) as through_at, count(*)::int as n
      from next where seq < coalesce((select seq from stop), 9223372036854775807)`.execute(db);
  const row = result.rows[0];
  if (!row || row.through_seq === null || row.through_at === null) return undefined;
  return { throughSeq: Number(row.through_seq), throughAt: new Date(row.through_at), count: Number(row.n) };
}

/** Events with afterSeq < seq <= throughSeq, in seq order. */
export async function listEventsBySeq(db: Executor, workspaceId: string, afterSeq: number, throughSeq: number, limit: number): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', throughSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map(toAuditEvent);
}

/**
 * Folds the member and access.changed events of (afterSeq, throughSeq] into the checkpoint: per
 * (group, user) the last member event decides whether the pair is in it; per user the last
 * access.changed event's `after` and `rolesAfter` (both empty: no row). Must run with the purge flag on.
 */
export async function foldIntoCheckpoint(trx: Executor, workspaceId: string, afterSeq: number, throughSeq: number): Promise<void> {
  await sql`
    with last as (
      select distinct on (target_id, data->>'userId') target_id as group_id, data->>'userId' as user_id, event_type, occurred_at
        from audit_events
       where workspace_id = ${workspaceId} and seq > ${afterSeq} and seq <= ${throughSeq}
         and target_type = 'group' and event_type in ('group.member_added', 'group.member_removed')
         and data->>'userId' is not null
       order by target_id, data->>'userId', seq desc
    ),
    removed as (
      delete from audit_checkpoint_members c using last l
       where c.workspace_id = ${workspaceId} and c.group_id = l.group_id and c.user_id = l.user_id
         and l.event_type = 'group.member_removed'
    )
    insert into audit_checkpoint_members (workspace_id, group_id, user_id, since)
    select ${workspaceId}, group_id, user_id, occurred_at from last where event_type = 'group.member_added'
    on conflict (workspace_id, group_id, user_id) do update set since = excluded.since`.execute(trx);

  await sql`
    with last as (
      select distinct on (target_id) target_id as user_id, occurred_at,
             coalesce((select array_agg(k order by k collate "C") from jsonb_array_elements_text(
               case when jsonb_typeof(data->'after') = 'array' then data->'after' else '[]'::jsonb end) as k), '{}'::text[]) as granted,
             case when jsonb_typeof(data->'rolesAfter') = 'array'
                  then array(select r::uuid from jsonb_array_elements_text(data->'rolesAfter') as r order by 1) end as role_ids
        from audit_events
       where workspace_id = ${workspaceId} and seq > ${afterSeq} and seq <= ${throughSeq}
         and target_type = 'user' and event_type = 'access.changed'
       order by target_id, seq desc
    ),
    emptied as (
      delete from audit_checkpoint_access c using last l
       where c.workspace_id = ${workspaceId} and c.user_id = l.user_id and cardinality(l.granted) = 0 and coalesce(cardinality(l.role_ids), 0) = 0
    )
    insert into audit_checkpoint_access (workspace_id, user_id, granted, role_ids, since)
    select ${workspaceId}, user_id, granted, role_ids, occurred_at from last where cardinality(granted) > 0 or cardinality(role_ids) > 0
    on conflict (workspace_id, user_id) do update set granted = excluded.granted, role_ids = excluded.role_ids, since = excluded.since`.execute(trx);
}

export async function deleteEventsThrough(trx: Executor, workspaceId: string, afterSeq: number, throughSeq: number): Promise<number> {
  const result = await trx
    .deleteFrom('audit_events')
    .where('workspace_id', '=', workspaceId)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', throughSeq)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Records how far the purge has gone, and where the old chain's survivors now start. */
export async function advancePurge(trx: Executor, workspaceId: string, purgedThrough: number, anchor: { seq: number; hash: string } | undefined): Promise<void> {
  await trx
    .updateTable('audit_logs')
    .set({ purged_through: purgedThrough, ...(anchor ? { anchor_seq: anchor.seq, anchor_hash: anchor.hash } : {}) })
    .where('workspace_id', '=', workspaceId)
    .execute();
}

/**
 * A digest of the checkpoint's content, in a fixed text form (sorted, C collation; times as epoch
 * milliseconds), so verify can recompute what the purge recorded in its audit.purged event.
 */
export async function checkpointDigest(db: Executor, workspaceId: string): Promise<CheckpointSummary> {
  const result = await sql<{ members: number; access: number; sha256: string }>`
    with m as (
      select count(*)::int as n,
             coalesce(string_agg(group_id || ' ' || user_id || ' ' || (extract(epoch from since) * 1000)::bigint, chr(10) order by group_id, user_id), '') as body
        from audit_checkpoint_members where workspace_id = ${workspaceId}
    ),
    a as (
      select count(*)::int as n,
             coalesce(string_agg(user_id || ' ' || array_to_string(granted, ',') || ' ' || (extract(epoch from since) * 1000)::bigint
                                 -- the roles, where recorded (a checkpoint from before they were has the same digest as then)
                                 || coalesce(' ' || array_to_string(role_ids, ','), ''), chr(10) order by user_id), '') as body
        from audit_checkpoint_access where workspace_id = ${workspaceId}
    )
    select m.n as members, a.n as access,
           encode(sha256(convert_to('members' || chr(10) || m.body || chr(10) || 'access' || chr(10) || a.body, 'UTF8')), 'hex') as sha256
      from m, a`.execute(db);
  const row = result.rows[0]!;
  return { members: Number(row.members), access: Number(row.access), sha256: row.sha256 };
}
