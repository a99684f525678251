import { sql, type RawBuilder } from 'kysely';
import type { SealOptions } from '../audit/sealer.js';
import type { Db } from '../db/index.js';
import { groupMembersAsOf } from '../repositories/audit-query.repository.js';
import { findRole, findRoleByName } from '../repositories/access.repository.js';
import { isUuid, uuidArray } from '../repositories/ids.js';
import { DomainError, invalid } from './admin-errors.js';
import { latestHead, type TreeHead } from './audit-log.service.js';
import { historyGroupId, resolveUserId } from './audit-query.service.js';
import { decodeCursor, keysetPage, rowsToRead } from './pagination.js';

// Access reviews as of a date: who held a permission at instant `at`, since when, and the audit
// events that granted it — read from the audit log alone (access.changed events carry each
// user's granted set before and after, and name their cause), so a report about last quarter
// does not depend on what the tables hold today. The signed head it ends with is what the
// listed events can later be proven against (GET /audit/events/{id}/proof).

export interface Holder {
  userId: string;
  userName: string | null;
  /** When the permission was last gained up to `at`; null when it predates the retained history. */
  since: string | null;
  /** Where `since` comes from: the access.changed event, or the retention checkpoint. */
  source: 'event' | 'checkpoint';
  grantedBy: {
    eventId: string;
    seq: number;
    cause: { id: string; type: string; targetType: string; targetId: string; data: Record<string, unknown> } | null;
    /** The cause in words: which group, mapping, role or lifecycle change. */
    reason: string;
  } | null;
}

export interface HoldersReport {
  /** What is reviewed: a permission's or a role's holders, or a group's members. */
  permission: string | null;
  role: { id: string; name: string } | null;
  group: { id: string; displayName: string | null } | null;
  at: string;
  generatedAt: string;
  holders: Holder[];
  /** The signed checkpoint the listed events are sealed under. */
  auditHead: TreeHead;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? null));

/** A change of access's cause in words: which group, mapping, role or lifecycle change, gained or lost. */
export function reasonOf(cause: NonNullable<Holder['grantedBy']>['cause'], groupName: string | null): string {
  if (!cause) return 'no recorded cause';
  const d = cause.data;
  const group = groupName ?? cause.targetId;
  switch (cause.type) {
    case 'group.member_added':
      return `added to group ${group}`;
    case 'group.member_removed':
      return d.reason === 'user.deleted' ? `removed from group ${group} (user deleted)` : `removed from group ${group}`;
    case 'group.deleted':
      return `group ${group} deleted`;
    case 'group.renamed':
      return `group renamed from ${str(d.from)} to ${str(d.to)}, changing which mappings match it`;
    case 'mapping.created':
      return `mapping of ${str(d.value ?? d.groupId)} to role ${str(d.roleName ?? d.roleId)} created`;
    case 'mapping.deleted':
      return `mapping of ${str(d.value ?? d.groupId)} to role ${str(d.roleName ?? d.roleId)} deleted`;
    case 'role.updated':
      return `role ${str(d.name)} changed`;
    case 'role.deleted':
      return `role ${str(d.name)} deleted`;
    case 'user.role_assigned':
      return `role ${str(d.roleName ?? d.roleId)} assigned directly`;
    case 'user.role_unassigned':
      return `direct role ${str(d.roleName ?? d.roleId)} removed`;
    case 'user.created':
      return 'provisioned (the default role or baseline)';
    case 'user.deactivated':
      return 'deactivated by the IdP';
    case 'user.reactivated':
      return 'reactivated';
    case 'user.deleted':
      return 'deleted by the IdP';
    case 'workspace.default_role_changed':
      return `default role changed to ${str(d.afterName ?? d.after)}`;
    case 'workspace.settings_changed':
      return 'resolution strategy changed';
    case 'permission.created':
    case 'permission.updated':
      return `permission ${str(d.key)} baseline changed`;
    case 'permission.deleted':
      return `permission ${str(d.key)} removed from the catalogue`;
    default:
      return cause.type;
  }
}

/** The columns a report selects of the event that caused an access change (and its group's name). */
export interface CauseColumns {
  cause_id: string | null;
  cause_type: string | null;
  cause_target_type: string | null;
  cause_target_id: string | null;
  cause_data: Record<string, unknown> | null;
  group_name: string | null;
}

export function causeOf(r: CauseColumns): NonNullable<Holder['grantedBy']>['cause'] {
  return r.cause_id ? { id: r.cause_id, type: r.cause_type!, targetType: r.cause_target_type!, targetId: r.cause_target_id!, data: r.cause_data ?? {} } : null;
}

function checkInstant(at: Date): void {
  if (Number.isNaN(at.getTime())) throw invalid('at', 'at must be an RFC 3339 date-time, e.g. 2026-11-03T00:00:00Z');
}

/** A user's userName: from the row, else (deleted since) the last event that recorded one. */
export function userNameSql(workspaceId: string, userId: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`coalesce(
    (select u.user_name from users u where u.workspace_id = ${workspaceId} and u.id = (${userId})::uuid),
    (select n.data->>'userName' from audit_events n
      where n.workspace_id = ${workspaceId} and n.target_type = 'user' and n.target_id = (${userId})::text and n.data ? 'userName'
      order by n.seq desc limit 1))`;
}

/** A group's displayName at `at`, from its created and renamed events, else its name now. */
export function groupNameAtSql(workspaceId: string, groupId: RawBuilder<unknown>, at: Date): RawBuilder<string | null> {
  return sql<string | null>`coalesce(
    (select n.data->>case when n.event_type = 'group.renamed' then 'to' else 'displayName' end from audit_events n
      where n.workspace_id = ${workspaceId} and n.target_type = 'group' and n.target_id = (${groupId})::text
        and n.event_type in ('group.created', 'group.renamed') and n.occurred_at <= ${at} order by n.seq desc limit 1),
    (select g.display_name from groups g where g.workspace_id = ${workspaceId} and g.id::text = (${groupId})::text))`;
}

/** A role the trail knows: a current one by id or name, else a deleted one by its id or last name. */
async function historyRole(db: Db, workspaceId: string, ref: string): Promise<{ id: string; name: string }> {
  const current = isUuid(ref) ? await findRole(db, workspaceId, ref.toLowerCase()) : await findRoleByName(db, workspaceId, ref);
  if (current) return { id: current.id, name: current.name };
  const { rows } = await sql<{ id: string; name: string }>`
    select target_id as id, data->>'name' as name from audit_events
     where workspace_id = ${workspaceId} and target_type = 'role' and data ? 'name'
       and ${isUuid(ref) ? sql`target_id = ${ref.toLowerCase()}` : sql`lower(data->>'name') = lower(${ref})`}
     order by seq desc limit 1`.execute(db);
  if (!rows[0]) throw new DomainError('not_found', `No role ${JSON.stringify(ref)} in this workspace or its audit trail`);
  return rows[0];
}

/** Whether the role is the workspace's default role now or was at some time of the retained trail. */
async function wasDefaultRole(db: Db, workspaceId: string, roleId: string): Promise<boolean> {
  const { rows } = await sql<{ yes: boolean }>`
    select exists (select 1 from workspace_access_settings where workspace_id = ${workspaceId} and default_role_id = ${roleId}::uuid)
        or exists (select 1 from audit_events where workspace_id = ${workspaceId} and event_type = 'workspace.default_role_changed'
                    and ${roleId} in (data->>'after', data->>'before')) as yes`.execute(db);
  return rows[0]!.yes;
}

/** What a holders report is about: a permission key, or a role (by id or name). */
export type HoldingSubject = { permission: string } | { role: string };

/**
 * Every user who held a permission or a role at `at`, ordered by userName. Roles are read from
 * the roles access.changed events record (since migration 2026120501): a user's own roles, so
 * not the default role, which is everyone else's.
 */
export async function holdersAt(db: Db, workspaceId: string, seal: SealOptions, subject: HoldingSubject, at: Date): Promise<HoldersReport> {
  const permission = 'permission' in subject ? subject.permission : null;
  if (permission !== null && (typeof permission !== 'string' || permission === '')) throw invalid('permission', 'permission is required, e.g. codex_admin');
  checkInstant(at);
  const role = 'role' in subject ? await historyRole(db, workspaceId, subject.role) : null;
  if (role && (await wasDefaultRole(db, workspaceId, role.id))) {
    throw invalid('role', `${role.name} is or was the default role, which every active user without a role of their own holds; review the permissions it grants (permission=…) instead`);
  }
  // What "holds" means for this subject, in an access.changed event's data and in the checkpoint.
  const holds = (side: 'after' | 'before') =>
    role ? sql`(e.data->${side === 'after' ? 'rolesAfter' : 'rolesBefore'}) @> jsonb_build_array(${role.id}::text)` : sql`(e.data->${side}) @> jsonb_build_array(${permission}::text)`;
  const heldAtCheckpoint = role ? sql`${role.id}::uuid = any(c.role_ids)` : sql`${permission}::text = any(c.granted)`;
  // Sealed first, in its own transaction: the head below then covers every event the report lists.
  const auditHead = await latestHead(db, workspaceId, seal);
  const { rows } = await db.transaction().setIsolationLevel('repeatable read').execute((trx) =>
    sql<{
      user_id: string;
      source: 'event' | 'checkpoint';
      user_name: string | null;
      gained_id: string | null;
      gained_seq: number | string | null;
      gained_at: Date | string | null;
      checkpoint_since: Date | string | null;
    } & CauseColumns>`
      with changes as (
        select e.target_id as user_id, e.id, e.seq, e.occurred_at, e.cause_id,
               coalesce(${holds('after')}, false) as holds_after, coalesce(${holds('before')}, false) as held_before
          from audit_events e
         where e.workspace_id = ${workspaceId} and e.target_type = 'user' and e.event_type = 'access.changed' and e.occurred_at <= ${at}
      ),
      last as (select distinct on (user_id) user_id, holds_after from changes order by user_id, seq desc),
      holders as (
        select user_id, 'event' as source, null::timestamptz as since from last where holds_after
        union all
        select c.user_id::text, 'checkpoint', c.since from audit_checkpoint_access c
         where c.workspace_id = ${workspaceId} and ${heldAtCheckpoint} and not exists (select 1 from last l where l.user_id = c.user_id::text)
      ),
      gained as (
        select distinct on (user_id) user_id, id, seq, occurred_at, cause_id from changes
         where holds_after and not held_before order by user_id, seq desc
      ),
      report as (
      select h.user_id, h.source, h.since as checkpoint_since,
             ${userNameSql(workspaceId, sql.ref('h.user_id'))} as user_name,
             g.id as gained_id, g.seq as gained_seq, g.occurred_at as gained_at,
             c.id as cause_id, c.event_type as cause_type, c.target_type as cause_target_type, c.target_id as cause_target_id, c.data as cause_data,
             case when c.target_type = 'group' then ${groupNameAtSql(workspaceId, sql.ref('c.target_id'), at)} end as group_name
        from holders h
        left join gained g on g.user_id = h.user_id
        left join audit_events c on c.id = g.cause_id
      )
      select * from report order by lower(coalesce(user_name, user_id)), user_id`.execute(trx),
  );
  const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());
  return {
    permission,
    role,
    group: null,
    at: at.toISOString(),
    generatedAt: new Date().toISOString(),
    holders: rows.map((r): Holder => {
      const cause = causeOf(r);
      return {
        userId: r.user_id,
        userName: r.user_name,
        since: iso(r.gained_at) ?? iso(r.checkpoint_since),
        source: r.gained_id ? 'event' : r.source,
        grantedBy: r.gained_id ? { eventId: r.gained_id, seq: Number(r.gained_seq), cause, reason: reasonOf(cause, r.group_name) } : null,
      };
    }),
    auditHead,
  };
}

/** Every member of a group (by id, or its current displayName) at `at`: since when, and the event that added them. */
export async function groupMembersAt(db: Db, workspaceId: string, seal: SealOptions, groupRef: string, at: Date): Promise<HoldersReport> {
  checkInstant(at);
  const auditHead = await latestHead(db, workspaceId, seal);
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const groupId = await historyGroupId(trx, workspaceId, groupRef);
    const members = await groupMembersAsOf(trx, workspaceId, groupId, at, { limit: 10_000_000 });
    const users = await sql<{ id: string; user_name: string | null }>`
      select x.id, ${userNameSql(workspaceId, sql.ref('x.id'))} as user_name from unnest(${uuidArray(members.map((m) => m.id))}) as x(id)`.execute(trx);
    const added = await sql<{ id: string; seq: number | string }>`
      select id, seq from audit_events where id = any(${uuidArray(members.flatMap((m) => (m.eventId ? [m.eventId] : [])))})`.execute(trx);
    const group = await sql<{ name: string | null }>`select ${groupNameAtSql(workspaceId, sql`${groupId}`, at)} as name`.execute(trx);
    const names = new Map(users.rows.map((r) => [r.id, r.user_name]));
    const seqs = new Map(added.rows.map((e) => [e.id, Number(e.seq)]));
    const displayName = group.rows[0]?.name ?? null;
    const reason = `member of group ${displayName ?? groupId}`;
    const holders = members
      .map((m): Holder => ({
        userId: m.id,
        userName: names.get(m.id) ?? null,
        since: m.since.toISOString(),
        source: m.eventId ? 'event' : 'checkpoint',
        grantedBy: m.eventId
          ? { eventId: m.eventId, seq: seqs.get(m.eventId) ?? 0, cause: { id: m.eventId, type: 'group.member_added', targetType: 'group', targetId: groupId, data: { userId: m.id } }, reason }
          : null,
      }))
      .sort((a, b) => (a.userName ?? a.userId).toLowerCase().localeCompare((b.userName ?? b.userId).toLowerCase()) || a.userId.localeCompare(b.userId));
    return { permission: null, role: null, group: { id: groupId, displayName }, at: at.toISOString(), generatedAt: new Date().toISOString(), holders, auditHead };
  });
}

/** The holders of exactly one of a permission, a role or a group at `at`: what GET /reviews/holders and the CLI answer. */
export async function holdersReport(db: Db, workspaceId: string, seal: SealOptions, subject: { permission?: string; role?: string; group?: string }, at: Date): Promise<HoldersReport> {
  const named = (['permission', 'role', 'group'] as const).filter((k) => subject[k] !== undefined);
  if (named.length !== 1) throw invalid(named[1] ?? 'permission', 'name exactly one of a permission, a role or a group to review');
  if (subject.group !== undefined) return groupMembersAt(db, workspaceId, seal, subject.group, at);
  return holdersAt(db, workspaceId, seal, subject.role !== undefined ? { role: subject.role } : { permission: subject.permission! }, at);
}

/** A file name for a report: its subject and instant, in characters every file system takes. */
export function reportFileName(report: HoldersReport): string {
  return `${report.group ? 'members' : 'holders'}-${subjectOf(report)}-${report.at}`.replace(/[^A-Za-z0-9_-]/g, '-');
}

// ---- formats -------------------------------------------------------------------------------

const CSV_COLUMNS = ['user_id', 'user_name', 'since', 'source', 'reason', 'granted_by_event', 'cause_event', 'cause_type'];

/** RFC 4180: every field quoted, quotes doubled, CRLF line ends. */
export function csvOf(lines: ReadonlyArray<ReadonlyArray<unknown>>): string {
  const field = (value: unknown) => `"${textOf(value).replace(/"/g, '""')}"`;
  return `${lines.map((line) => line.map(field).join(',')).join('\r\n')}\r\n`;
}

export function holdersCsv(report: HoldersReport): string {
  return csvOf([
    CSV_COLUMNS,
    ...report.holders.map((h) => [h.userId, h.userName, h.since, h.source, h.grantedBy?.reason, h.grantedBy?.eventId, h.grantedBy?.cause?.id, h.grantedBy?.cause?.type]),
  ]);
}

/** A report field as text: nothing for null, an instant in ISO 8601, a structure as JSON. */
function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

export const escapeHtml = (value: unknown): string =>
  textOf(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What a report is about, in words: "role codex-admin", "codex_cloud", "group codex-admins". */
export function subjectOf(report: Pick<HoldersReport, 'permission' | 'role' | 'group'>): string {
  if (report.group) return `group ${report.group.displayName ?? report.group.id}`;
  if (report.role) return `role ${report.role.name}`;
  return report.permission!;
}

const title = (report: HoldersReport): string => (report.group ? `Members of ${report.group.displayName ?? report.group.id} at ${report.at}` : `Holders of ${subjectOf(report)} at ${report.at}`);

/** A printable page: the question, the answer, and the checkpoint to verify it against. */
export function holdersHtml(report: HoldersReport): string {
  const rows = report.holders
    .map((h) => `<tr><td>${escapeHtml(h.userName ?? h.userId)}</td><td><code>${escapeHtml(h.userId)}</code></td><td>${escapeHtml(h.since ?? 'before the retained history')}</td><td>${escapeHtml(h.grantedBy?.reason ?? 'held at the retention checkpoint')}</td><td><code>${escapeHtml(h.grantedBy?.eventId ?? '')}</code></td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title(report))}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eee}pre{white-space:pre-wrap;font-size:12px}@media print{body{margin:0}}</style></head>
<body>
<h1>${escapeHtml(title(report))}</h1>
<p>${report.holders.length} holder${report.holders.length === 1 ? '' : 's'}. Generated ${escapeHtml(report.generatedAt)} from the audit log.</p>
<table><thead><tr><th scope="col">User</th><th scope="col">User id</th><th scope="col">Since</th><th scope="col">Why</th><th scope="col">Granting event</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Audit checkpoint</h2>
<p>Tree size ${report.auditHead.treeSize}, root ${escapeHtml(report.auditHead.rootHash)}${report.auditHead.signed ? ', signed' : ', unsigned'}. Every event above is in this tree: ask <code>GET /api/v1/audit/events/{id}/proof?treeSize=${report.auditHead.treeSize}</code>.</p>
<pre>${escapeHtml(report.auditHead.checkpoint)}</pre>
</body></html>
`;
}

// ---------------------------------------------------------------------------------------------
// A user's access timeline

export interface AccessTimelineEntry {
  eventId: string;
  seq: number;
  at: string;
  gained: string[];
  lost: string[];
  after: string[];
  cause: NonNullable<Holder['grantedBy']>['cause'];
  /** The cause in words, e.g. "removed from group codex-cloud-users". */
  reason: string;
  /** Who made the change that caused it: the IdP's SCIM token, an admin, the CLI. */
  actor: { type: string; id: string; display: string | null };
}

/**
 * Every change of a user's effective permissions, newest first, each with its cause in words:
 * the answer to "why did this person lose codex_cloud on 3 November?". A slice of the audit
 * log about one user's access only, so codex-admins may read it (the whole log is for owner
 * and compliance).
 */
/** Far enough ahead for "the group's latest name". */
export const LATEST = new Date('9999-12-31T00:00:00Z');

export async function accessTimeline(db: Db, workspaceId: string, userRef: string, page: { limit: number; cursor?: string }): Promise<{ userId: string; userName: string | null; entries: AccessTimelineEntry[]; nextCursor: string | null }> {
  const beforeSeq = decodeCursor(page.cursor, 1, ([seq]) => Number.isSafeInteger(seq))?.[0] as number | undefined;
  const userId = await resolveUserId(db, workspaceId, userRef);
  const rows = await sql<{
    id: string;
    seq: string | number;
    occurred_at: Date;
    data: { granted?: string[]; revoked?: string[]; after?: string[] };
    actor_type: string;
    actor_id: string;
    actor_display: string | null;
  } & CauseColumns>`
    select e.id, e.seq, e.occurred_at, e.data,
      coalesce(c.actor_type, e.actor_type) as actor_type, coalesce(c.actor_id, e.actor_id) as actor_id, coalesce(c.actor_display, e.actor_display) as actor_display,
      c.id as cause_id, c.event_type as cause_type, c.target_type as cause_target_type, c.target_id as cause_target_id, c.data as cause_data,
      case when c.target_type = 'group' then ${groupNameAtSql(workspaceId, sql`c.target_id`, LATEST)} end as group_name
    from audit_events e left join audit_events c on c.id = e.cause_id
    where e.workspace_id = ${workspaceId} and e.target_type = 'user' and e.target_id = ${userId} and e.event_type = 'access.changed'
      ${beforeSeq === undefined ? sql`` : sql`and e.seq < ${beforeSeq}`}
    order by e.seq desc limit ${rowsToRead(page.limit)}`.execute(db);
  const { rows: shown, nextCursor } = keysetPage(rows.rows, page.limit, (r) => [Number(r.seq)]);
  const [userName] = (await sql<{ name: string | null }>`select ${userNameSql(workspaceId, sql`${userId}`)} as name`.execute(db)).rows.map((r) => r.name);
  return {
    userId,
    userName: userName ?? null,
    entries: shown.map((r) => {
      const cause = causeOf(r);
      return {
        eventId: r.id,
        seq: Number(r.seq),
        at: new Date(r.occurred_at).toISOString(),
        gained: r.data.granted ?? [],
        lost: r.data.revoked ?? [],
        after: r.data.after ?? [],
        cause,
        reason: reasonOf(cause, r.group_name),
        actor: { type: r.actor_type, id: r.actor_id, display: r.actor_display },
      };
    }),
    nextCursor,
  };
}

// ---------------------------------------------------------------------------------------------
// Counts over time, for charts

export interface DailyCount {
  /** A UTC day, YYYY-MM-DD; the count is as of its end (today: now). */
  date: string;
  count: number;
}

const DAY_MS = 86_400_000;

/** Walks back from the count now through each day's net change: the count at the end of each of the last `days` days. */
function dailyCounts(now: number, days: number, deltas: ReadonlyArray<{ day: string; delta: number }>): DailyCount[] {
  const byDay = new Map(deltas.map((d) => [d.day, Number(d.delta)]));
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const out: DailyCount[] = [];
  let count = now;
  for (let i = 0; i < days; i++) {
    const date = new Date(today - i * DAY_MS).toISOString().slice(0, 10);
    out.push({ date, count });
    count -= byDay.get(date) ?? 0;
  }
  return out.reverse();
}

/** The start of the first of the last `days` UTC days, once `days` is checked. */
function firstDay(days: number): Date {
  if (!Number.isInteger(days) || days < 1 || days > 366) throw invalid('days', 'days must be a whole number from 1 to 366');
  return new Date((Math.floor(Date.now() / DAY_MS) - days + 1) * DAY_MS);
}

/** How many users held a permission at the end of each of the last `days` days (from access.changed events). */
export async function holdersOverTime(db: Db, workspaceId: string, permission: string, days: number): Promise<{ permission: string; days: DailyCount[] }> {
  const since = firstDay(days);
  const [now, deltas] = await Promise.all([
    sql<{ n: number }>`select count(*)::int as n from user_access where workspace_id = ${workspaceId} and ${permission} = any(granted)`.execute(db),
    sql<{ day: string; delta: number }>`
      select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day,
        (count(*) filter (where data->'granted' ? ${permission}) - count(*) filter (where data->'revoked' ? ${permission}))::int as delta
      from audit_events where workspace_id = ${workspaceId} and event_type = 'access.changed' and occurred_at >= ${since}
      group by 1`.execute(db),
  ]);
  return { permission, days: dailyCounts(now.rows[0]!.n, days, deltas.rows) };
}

/** How many members a group had at the end of each of the last `days` days (from its member events). */
export async function groupSizeOverTime(db: Db, workspaceId: string, groupRef: string, days: number): Promise<{ groupId: string; days: DailyCount[] }> {
  const since = firstDay(days);
  const groupId = await historyGroupId(db, workspaceId, groupRef);
  const [now, deltas] = await Promise.all([
    sql<{ n: number }>`select count(*)::int as n from group_members where group_id = ${groupId}`.execute(db),
    sql<{ day: string; delta: number }>`
      select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day,
        (count(*) filter (where event_type = 'group.member_added') - count(*) filter (where event_type = 'group.member_removed'))::int as delta
      from audit_events where workspace_id = ${workspaceId} and target_type = 'group' and target_id = ${groupId}
        and event_type in ('group.member_added', 'group.member_removed') and occurred_at >= ${since}
      group by 1`.execute(db),
  ]);
  return { groupId, days: dailyCounts(now.rows[0]!.n, days, deltas.rows) };
}
