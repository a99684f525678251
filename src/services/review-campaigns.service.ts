import { randomUUID } from 'node:crypto';
import { sql, type Selectable, type Transaction } from 'kysely';
import type { SealOptions } from '../audit/sealer.js';
import type { AuditActor, AuditContext } from '../audit/types.js';
import type { Db, Executor } from '../db/index.js';
import type { Database, ReviewCampaignsTable } from '../db/types.js';
import { findUsersByRef } from '../repositories/effective-access.repository.js';
import { isUuid, uuidArray } from '../repositories/ids.js';
import { conflict, DomainError, forbidden, invalid, notFound } from './admin-errors.js';
import type { AdminPrincipal, CallerRole } from './admin-tokens.service.js';
import type { TreeHead } from './audit-log.service.js';
import { commit } from './commit.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';
import { explainUsers } from './effective-access.service.js';
import { causeOf, csvOf, escapeHtml, groupNameAtSql, holdersReport, LATEST, reasonOf, type CauseColumns, type Holder } from './reviews.service.js';

// Review campaigns (README "Review campaigns"): an owner or compliance admin opens one over the
// holders of a permission, a role or a group, names the admins who review it and a due date;
// each reviewer marks each holder keep or revoke with a comment; closing it freezes the evidence
// (holders, decisions, reviewers, times, the signed audit head) and the removals to carry out in
// the IdP, which stays the source of truth: the bridge changes no access itself. Every step is an
// audit event in the transaction that makes it. A holder whose access to the subject changed
// while the campaign was open is flagged, with the change.

export type SubjectKind = 'permission' | 'role' | 'group';
export type Decision = 'keep' | 'revoke';

const MAX_NAME = 200;
const MAX_COMMENT = 2000;
const MAX_REVIEWERS = 50;

/** Who a caller is to a campaign: `user:<SCIM user id>` when signed in through the IdP, else `token:<id>`. */
export function reviewerOf(admin: AdminPrincipal): { principal: string; display: string; userId?: string; role: CallerRole } {
  return {
    principal: admin.userId ? `user:${admin.userId}` : admin.subject,
    display: admin.display ?? admin.subject,
    ...(admin.userId ? { userId: admin.userId } : {}),
    role: admin.role,
  };
}
export type Reviewer = ReturnType<typeof reviewerOf>;

/** Owners and compliance admins run reviews and see every campaign; anyone else only those they review. */
const runsReviews = (caller: Reviewer) => caller.role === 'owner' || caller.role === 'compliance';

export interface ChangeDuringReview {
  eventId: string;
  at: string;
  /** What happened, in words: "removed from group codex-admins". */
  reason: string;
  /** Whether the user holds the subject after that change. */
  stillHolds: boolean;
}

export interface ReviewItem {
  userId: string;
  userName: string | null;
  /** Since when they held it, when the campaign opened; null: before the retained history. */
  since: string | null;
  reason: string;
  grantedByEvent: string | null;
  decision: Decision | null;
  comment: string | null;
  decidedBy: { principal: string; display: string } | null;
  decidedAt: string | null;
  /** Set when the user's access to the subject changed after the campaign opened: the latest such change. */
  changedDuringReview: ChangeDuringReview | null;
}

export interface CampaignView {
  id: string;
  name: string;
  subject: { kind: SubjectKind; id: string; name: string };
  dueAt: string;
  status: 'open' | 'closed';
  overdue: boolean;
  openedAt: string;
  openedBy: AuditActor;
  closedAt: string | null;
  closedBy: AuditActor | null;
  reviewers: Array<{ principal: string; display: string }>;
  progress: { holders: number; kept: number; revoked: number; undecided: number; changedDuringReview: number };
  /** The signed head sealed before the holders were read: their granting events are in it. */
  openedHead: TreeHead;
}

/** One thing to change so that a revoked holder loses the subject. */
export type RemovalAction =
  | { kind: 'remove_from_group'; groupId: string; displayName: string; where: 'idp' }
  | { kind: 'unassign_direct_role'; roleId: string; roleName: string; where: 'bridge' }
  | { kind: 'default_role'; roleId: string; roleName: string; where: 'bridge' }
  | { kind: 'baseline'; permission: string; where: 'bridge' };

export interface Removal {
  userId: string;
  userName: string | null;
  comment: string | null;
  decidedBy: string;
  actions: RemovalAction[];
  /** The actions in words, for whoever carries them out. */
  instructions: string[];
}

export interface Evidence {
  campaign: CampaignView;
  holders: ReviewItem[];
  /** Revoked holders who hold the subject still: what to remove, and where. */
  removals: Removal[];
  /** Revoked holders who had already lost it when the campaign closed. */
  alreadyRemoved: Array<{ userId: string; userName: string | null; change: ChangeDuringReview }>;
  /** Users who gained the subject while the campaign was open: not reviewed by it. */
  newHolders: Holder[];
  /** The signed head at close: every decision event is in it. */
  auditHead: TreeHead;
  generatedAt: string;
}

// ---------------------------------------------------------------------------------------------
// Reading

type CampaignRow = Selectable<ReviewCampaignsTable>;
/** A campaign without its frozen evidence: what views and lists need. */
type CampaignListRow = Omit<CampaignRow, 'evidence'>;
const LIST_COLUMNS = ['id', 'workspace_id', 'name', 'subject_kind', 'subject_id', 'subject_name', 'due_at', 'status', 'opened_at', 'opened_by', 'opened_head', 'closed_at', 'closed_by'] as const;

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());
const parsed = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

async function findCampaign(db: Executor, workspaceId: string, id: string, lock?: 'update' | 'share') {
  if (!isUuid(id)) throw notFound('review campaign', id);
  let query = db.selectFrom('review_campaigns').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id.toLowerCase());
  if (lock === 'update') query = query.forUpdate();
  if (lock === 'share') query = query.forShare();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('review campaign', id);
  return row;
}

async function reviewersOf(db: Executor, campaignIds: readonly string[]) {
  if (campaignIds.length === 0) return new Map<string, Array<{ principal: string; display: string }>>();
  const rows = await db.selectFrom('review_reviewers').select(['campaign_id', 'principal', 'display']).where('campaign_id', 'in', campaignIds).orderBy('display').execute();
  const out = new Map<string, Array<{ principal: string; display: string }>>();
  for (const r of rows) out.set(r.campaign_id, [...(out.get(r.campaign_id) ?? []), { principal: r.principal, display: r.display }]);
  return out;
}

/** The latest change after the campaign opened of each listed user's hold on the subject. */
async function changesDuringReview(db: Executor, campaign: CampaignListRow, userIds: readonly string[]): Promise<Map<string, ChangeDuringReview>> {
  if (userIds.length === 0) return new Map();
  const ws = campaign.workspace_id;
  const opened = new Date(campaign.opened_at);
  if (campaign.subject_kind === 'group') {
    const { rows } = await sql<{ user_id: string; id: string; occurred_at: Date; event_type: string; reason: string | null; group_name: string | null }>`
      select distinct on (e.data->>'userId') e.data->>'userId' as user_id, e.id, e.occurred_at, e.event_type, e.data->>'reason' as reason,
             ${groupNameAtSql(ws, sql`e.target_id`, LATEST)} as group_name
        from audit_events e
       where e.workspace_id = ${ws} and e.target_type = 'group' and e.target_id = ${campaign.subject_id}
         and e.event_type in ('group.member_added', 'group.member_removed') and e.occurred_at > ${opened}
         and e.data->>'userId' = any(${uuidArray(userIds)}::text[])
       order by e.data->>'userId', e.seq desc`.execute(db);
    return new Map(
      rows.map((r) => {
        const cause = { id: r.id, type: r.event_type, targetType: 'group', targetId: campaign.subject_id, data: r.reason ? { reason: r.reason } : {} };
        return [r.user_id, { eventId: r.id, at: new Date(r.occurred_at).toISOString(), reason: reasonOf(cause, r.group_name), stillHolds: r.event_type === 'group.member_added' }];
      }),
    );
  }
  // access.changed events that changed whether the user holds the permission or the role.
  const key = campaign.subject_id;
  const [changed, holds] =
    campaign.subject_kind === 'permission'
      ? [sql`((e.data->'granted') ? ${key} or (e.data->'revoked') ? ${key})`, sql`coalesce((e.data->'after') ? ${key}, false)`]
      : [sql`(coalesce((e.data->'rolesBefore') ? ${key}, false) <> coalesce((e.data->'rolesAfter') ? ${key}, false))`, sql`coalesce((e.data->'rolesAfter') ? ${key}, false)`];
  const { rows } = await sql<{ user_id: string; id: string; occurred_at: Date; holds: boolean } & CauseColumns>`
    select distinct on (e.target_id) e.target_id as user_id, e.id, e.occurred_at, ${holds} as holds,
           c.id as cause_id, c.event_type as cause_type, c.target_type as cause_target_type, c.target_id as cause_target_id, c.data as cause_data,
           case when c.target_type = 'group' then ${groupNameAtSql(ws, sql`c.target_id`, LATEST)} end as group_name
      from audit_events e left join audit_events c on c.id = e.cause_id
     where e.workspace_id = ${ws} and e.target_type = 'user' and e.event_type = 'access.changed' and e.occurred_at > ${opened}
       and e.target_id = any(${uuidArray(userIds)}::text[]) and ${changed}
     order by e.target_id, e.seq desc`.execute(db);
  return new Map(rows.map((r) => [r.user_id, { eventId: r.id, at: new Date(r.occurred_at).toISOString(), reason: reasonOf(causeOf(r), r.group_name), stillHolds: r.holds }]));
}

/** The campaign's holders under review, or the one named. */
async function itemsOf(db: Executor, campaign: CampaignListRow, userId?: string): Promise<ReviewItem[]> {
  let query = db.selectFrom('review_items').selectAll().where('campaign_id', '=', campaign.id);
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  const rows = await query.orderBy(sql`lower(coalesce(user_name, user_id::text))`).orderBy('user_id').execute();
  const changes = await changesDuringReview(
    db,
    campaign,
    rows.map((r) => r.user_id),
  );
  return rows.map((r) => ({
    userId: r.user_id,
    userName: r.user_name,
    since: iso(r.since),
    reason: r.reason,
    grantedByEvent: r.granted_by_event,
    decision: r.decision,
    comment: r.comment,
    decidedBy: r.decided_by ? { principal: r.decided_by, display: r.decided_by_display ?? r.decided_by } : null,
    decidedAt: iso(r.decided_at),
    changedDuringReview: changes.get(r.user_id) ?? null,
  }));
}

function progressOf(items: readonly ReviewItem[]): CampaignView['progress'] {
  const count = (pred: (i: ReviewItem) => boolean) => items.filter(pred).length;
  return {
    holders: items.length,
    kept: count((i) => i.decision === 'keep'),
    revoked: count((i) => i.decision === 'revoke'),
    undecided: count((i) => i.decision === null),
    changedDuringReview: count((i) => i.changedDuringReview !== null),
  };
}

function viewOf(row: CampaignListRow, reviewers: CampaignView['reviewers'], progress: CampaignView['progress']): CampaignView {
  const dueAt = new Date(row.due_at);
  return {
    id: row.id,
    name: row.name,
    subject: { kind: row.subject_kind, id: row.subject_id, name: row.subject_name },
    dueAt: dueAt.toISOString(),
    status: row.status,
    overdue: row.status === 'open' && dueAt.getTime() < Date.now(),
    openedAt: new Date(row.opened_at).toISOString(),
    openedBy: parsed<AuditActor>(row.opened_by),
    closedAt: iso(row.closed_at),
    closedBy: row.closed_by ? parsed<AuditActor>(row.closed_by) : null,
    reviewers,
    progress,
    openedHead: parsed<TreeHead>(row.opened_head),
  };
}

function checkVisible(caller: Reviewer, reviewers: CampaignView['reviewers'], id: string): void {
  if (!runsReviews(caller) && !reviewers.some((r) => r.principal === caller.principal)) {
    // As if it did not exist: a codex-admin learns nothing of reviews they are not part of.
    throw notFound('review campaign', id);
  }
}

async function campaignWithItems(db: Db, workspaceId: string, id: string, caller?: Reviewer): Promise<CampaignView & { items: ReviewItem[] }> {
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const row = await findCampaign(trx, workspaceId, id);
    const reviewers = (await reviewersOf(trx, [row.id])).get(row.id) ?? [];
    if (caller) checkVisible(caller, reviewers, id);
    const items = await itemsOf(trx, row);
    return { ...viewOf(row, reviewers, progressOf(items)), items };
  });
}

/** A campaign with its holders, each with the decision on them and any change while it was open. */
export function getCampaign(db: Db, workspaceId: string, caller: Reviewer, id: string): Promise<CampaignView & { items: ReviewItem[] }> {
  return campaignWithItems(db, workspaceId, id, caller);
}

/** Campaigns newest first: every one for owners and compliance admins, those they review for anyone else. */
export async function listCampaigns(
  db: Db,
  workspaceId: string,
  caller: Reviewer,
  query: { status?: 'open' | 'closed'; limit: number; cursor?: string },
): Promise<Page<CampaignView>> {
  const position = decodeCursor(query.cursor, 2, ([at, id]) => typeof at === 'string' && !Number.isNaN(Date.parse(at)) && typeof id === 'string' && isUuid(id));
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    // Not the evidence itself: a closed campaign's progress is read from it, frozen at close.
    let q = trx
      .selectFrom('review_campaigns')
      .select(LIST_COLUMNS)
      .select(sql<CampaignView['progress'] | null>`evidence->'campaign'->'progress'`.as('frozen_progress'))
      .where('workspace_id', '=', workspaceId);
    if (query.status) q = q.where('status', '=', query.status);
    if (!runsReviews(caller)) {
      q = q.where('id', 'in', trx.selectFrom('review_reviewers').select('campaign_id').where('principal', '=', caller.principal));
    }
    if (position) q = q.where(sql<boolean>`(opened_at, id) < (${new Date(String(position[0]))}, ${String(position[1])}::uuid)`);
    const rows = await q.orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(rowsToRead(query.limit)).execute();
    const { rows: shown, nextCursor } = keysetPage(rows, query.limit, (r) => [new Date(r.opened_at).toISOString(), r.id]);
    const reviewers = await reviewersOf(
      trx,
      shown.map((r) => r.id),
    );
    const items: CampaignView[] = [];
    // Open campaigns' progress is live: their decisions and changes are read now.
    for (const row of shown) items.push(viewOf(row, reviewers.get(row.id) ?? [], parsed(row.frozen_progress) ?? progressOf(await itemsOf(trx, row))));
    return { items, nextCursor };
  });
}

// ---------------------------------------------------------------------------------------------
// Opening

export interface OpenCampaignInput {
  name: string;
  permission?: string;
  role?: string;
  group?: string;
  /** Admin users by userName, email or id (they sign in through the IdP), or bridge admin tokens as `token:<id>`. */
  reviewers: string[];
  dueAt: string;
}

/** A named reviewer: a provisioned, active user, or a live bridge admin token. */
async function resolveReviewer(db: Executor, workspaceId: string, ref: string, index: number): Promise<{ principal: string; display: string }> {
  const field = `reviewers.${index}`;
  const token = /^token:(.+)$/i.exec(ref);
  if (token) {
    const id = token[1]!.toLowerCase();
    const row = isUuid(id)
      ? await db.selectFrom('api_tokens').select(['id', 'description', 'role', 'revoked_at', 'expires_at']).where('workspace_id', '=', workspaceId).where('id', '=', id).where('scope', '=', 'admin').executeTakeFirst()
      : undefined;
    if (!row) throw invalid(field, `${ref} is not an admin token of this workspace`);
    if (row.revoked_at !== null || (row.expires_at !== null && new Date(row.expires_at).getTime() <= Date.now())) throw invalid(field, `${ref} is revoked or expired`);
    return { principal: `token:${row.id}`, display: row.description ?? `admin token ${row.id}` };
  }
  const ids = await findUsersByRef(db, workspaceId, ref);
  if (ids.length !== 1) throw invalid(field, ids.length === 0 ? `No user ${JSON.stringify(ref)} in this workspace` : `${JSON.stringify(ref)} names ${ids.length} users; use a user id`);
  const user = await db.selectFrom('users').select(['id', 'user_name', 'active']).where('workspace_id', '=', workspaceId).where('id', '=', ids[0]!).executeTakeFirstOrThrow();
  if (!user.active) throw invalid(field, `${user.user_name} is deactivated and cannot review`);
  return { principal: `user:${user.id}`, display: user.user_name };
}

function checkOpenInput(input: OpenCampaignInput): { name: string; dueAt: Date } {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) throw invalid('name', `name must be 1 to ${MAX_NAME} printable characters`);
  const dueAt = new Date(input.dueAt);
  if (Number.isNaN(dueAt.getTime())) throw invalid('dueAt', 'dueAt must be an RFC 3339 date-time');
  if (dueAt.getTime() <= Date.now()) throw invalid('dueAt', 'dueAt must be in the future');
  if (!Array.isArray(input.reviewers) || input.reviewers.length === 0) throw invalid('reviewers', 'name at least one reviewer');
  if (input.reviewers.length > MAX_REVIEWERS) throw invalid('reviewers', `at most ${MAX_REVIEWERS} reviewers`);
  return { name, dueAt };
}

/**
 * Opens a campaign over the subject's holders now. The holders report seals first, so the head
 * stored with the campaign covers every event that granted what is under review.
 */
export async function openCampaign(db: Db, audit: AuditContext, seal: SealOptions, input: OpenCampaignInput): Promise<CampaignView & { items: ReviewItem[] }> {
  const { name, dueAt } = checkOpenInput(input);
  const report = await holdersReport(db, audit.workspaceId, seal, { permission: input.permission, role: input.role, group: input.group }, new Date());
  const subject: CampaignView['subject'] = report.group
    ? { kind: 'group', id: report.group.id, name: report.group.displayName ?? report.group.id }
    : report.role
      ? { kind: 'role', id: report.role.id, name: report.role.name }
      : { kind: 'permission', id: report.permission!, name: report.permission! };
  const id = randomUUID();
  await db.transaction().execute(async (trx) => {
    const reviewers = new Map<string, { principal: string; display: string }>();
    for (const [i, ref] of input.reviewers.entries()) {
      if (typeof ref !== 'string' || ref.trim() === '') throw invalid(`reviewers.${i}`, 'a reviewer is a userName, email, user id or token:<id>');
      const reviewer = await resolveReviewer(trx, audit.workspaceId, ref.trim(), i);
      reviewers.set(reviewer.principal, reviewer);
    }
    await trx
      .insertInto('review_campaigns')
      .values({
        id,
        workspace_id: audit.workspaceId,
        name,
        subject_kind: subject.kind,
        subject_id: subject.id,
        subject_name: subject.name,
        due_at: dueAt,
        status: 'open',
        opened_at: new Date(report.at),
        opened_by: JSON.stringify(audit.actor),
        opened_head: JSON.stringify(report.auditHead),
      })
      .execute();
    await trx
      .insertInto('review_reviewers')
      .values([...reviewers.values()].map((r) => ({ campaign_id: id, ...r })))
      .execute();
    if (report.holders.length > 0) {
      await trx
        .insertInto('review_items')
        .values(
          report.holders.map((h) => ({
            campaign_id: id,
            user_id: h.userId,
            user_name: h.userName,
            since: h.since,
            reason: h.grantedBy?.reason ?? 'held at the retention checkpoint',
            granted_by_event: h.grantedBy?.eventId ?? null,
          })),
        )
        .execute();
    }
    await commit(trx, audit, [
      { type: 'review.opened', targetType: 'review', targetId: id, data: { name, subject, dueAt: dueAt.toISOString(), reviewers: [...reviewers.keys()], holders: report.holders.length } },
    ]);
  });
  return campaignWithItems(db, audit.workspaceId, id);
}

// ---------------------------------------------------------------------------------------------
// Deciding

/**
 * A named reviewer's decision on one holder (again: it replaces theirs or another reviewer's,
 * recorded with the one it replaces). Not on their own access, and only while the campaign is open.
 */
export async function decide(
  db: Db,
  audit: AuditContext,
  caller: Reviewer,
  campaignId: string,
  userRef: string,
  input: { decision: Decision; comment?: string | null },
): Promise<ReviewItem> {
  if (input.decision !== 'keep' && input.decision !== 'revoke') throw invalid('decision', 'decision is keep or revoke');
  const comment = typeof input.comment === 'string' && input.comment.trim() !== '' ? input.comment.trim() : null;
  if (comment !== null && comment.length > MAX_COMMENT) throw invalid('comment', `comment must be at most ${MAX_COMMENT} characters`);
  const userId = await db.transaction().execute(async (trx) => {
    // Shared: decisions go on side by side; closing waits for them and they for it.
    const campaign = await findCampaign(trx, audit.workspaceId, campaignId, 'share');
    const reviewers = (await reviewersOf(trx, [campaign.id])).get(campaign.id) ?? [];
    checkVisible(caller, reviewers, campaignId);
    if (!reviewers.some((r) => r.principal === caller.principal)) throw forbidden(`Only the campaign's named reviewers decide (${reviewers.map((r) => r.display).join(', ')})`);
    if (campaign.status !== 'open') throw conflict('The campaign is closed: its decisions are final');
    const matches = isUuid(userRef) ? [userRef.toLowerCase()] : await findUsersByRef(trx, audit.workspaceId, userRef);
    if (matches.length > 1) throw conflict(`${JSON.stringify(userRef)} names ${matches.length} users; use a user id`, 'user');
    const ref = matches[0];
    const item = ref
      ? await trx.selectFrom('review_items').selectAll().where('campaign_id', '=', campaign.id).where('user_id', '=', ref).forUpdate().executeTakeFirst()
      : undefined;
    if (!item) throw new DomainError('not_found', `${JSON.stringify(userRef)} is not a holder under review in this campaign`);
    if (caller.userId === item.user_id) throw forbidden('A reviewer does not decide on their own access');
    if (item.decision === input.decision && item.comment === comment) return item.user_id;
    await trx
      .updateTable('review_items')
      .set({ decision: input.decision, comment, decided_by: caller.principal, decided_by_display: caller.display, decided_at: new Date() })
      .where('campaign_id', '=', campaign.id)
      .where('user_id', '=', item.user_id)
      .execute();
    await commit(trx, audit, [
      {
        type: 'review.decided',
        targetType: 'review',
        targetId: campaign.id,
        data: { userId: item.user_id, userName: item.user_name, decision: input.decision, comment, previous: item.decision },
      },
    ]);
    return item.user_id;
  });
  const [item] = await itemsOf(db, await findCampaign(db, audit.workspaceId, campaignId), userId);
  return item!;
}

// ---------------------------------------------------------------------------------------------
// Closing

/** What to change so that each revoked holder who still holds the subject loses it. */
async function removalsOf(trx: Transaction<Database>, campaign: CampaignRow, revoked: readonly ReviewItem[]): Promise<Removal[]> {
  if (revoked.length === 0) return [];
  const explained = new Map((await explainUsers(trx, campaign.workspace_id, revoked.map((i) => i.userId))).map((e) => [e.user.id, e]));
  return revoked.map((item): Removal => {
    const access = explained.get(item.userId);
    const actions: RemovalAction[] = [];
    const fromRole = (roleId: string) => {
      for (const role of access?.roles.filter((r) => r.roleId === roleId) ?? []) {
        for (const source of role.sources) {
          if (source.type === 'group') actions.push({ kind: 'remove_from_group', groupId: source.groupId, displayName: source.groupDisplayName, where: 'idp' });
          else if (source.type === 'direct') actions.push({ kind: 'unassign_direct_role', roleId: role.roleId, roleName: role.roleName, where: 'bridge' });
          else actions.push({ kind: 'default_role', roleId: role.roleId, roleName: role.roleName, where: 'bridge' });
        }
      }
    };
    if (campaign.subject_kind === 'group') {
      actions.push({ kind: 'remove_from_group', groupId: campaign.subject_id, displayName: campaign.subject_name, where: 'idp' });
    } else if (campaign.subject_kind === 'role') {
      fromRole(campaign.subject_id);
    } else {
      const permission = access?.permissions.find((p) => p.key === campaign.subject_id);
      if (permission?.decidedBy === 'baseline') actions.push({ kind: 'baseline', permission: permission.key, where: 'bridge' });
      for (const role of permission?.allowedBy ?? []) fromRole(role.roleId);
    }
    const unique = [...new Map(actions.map((a) => [JSON.stringify(a), a])).values()];
    const who = item.userName ?? item.userId;
    const instructions = unique.map((a) => {
      switch (a.kind) {
        case 'remove_from_group':
          return `In the IdP, remove ${who} from the group ${a.displayName}`;
        case 'unassign_direct_role':
          return `In the bridge, unassign the role ${a.roleName} from ${who} (DELETE /api/v1/users/${item.userId}/roles/${a.roleId})`;
        case 'default_role':
          return `${who} holds it through the default role ${a.roleName}: change what that role grants, or give ${who} a role of their own that denies it`;
        case 'baseline':
          return `${a.permission} is on by baseline for everyone without a role deciding it: give ${who} a role that denies it, or turn the baseline off`;
      }
    });
    return { userId: item.userId, userName: item.userName, comment: item.comment, decidedBy: item.decidedBy!.display, actions: unique, instructions };
  });
}

const subjectQuery = (row: CampaignRow) => (row.subject_kind === 'group' ? { group: row.subject_id } : row.subject_kind === 'role' ? { role: row.subject_id } : { permission: row.subject_id });

/**
 * Closes a campaign: undecided holders stay undecided in the evidence, which is frozen with the
 * signed head every decision is sealed under. The holders now are read first, for the users who
 * gained the subject while it was open.
 */
export async function closeCampaign(db: Db, audit: AuditContext, seal: SealOptions, campaignId: string): Promise<Evidence> {
  const before = await findCampaign(db, audit.workspaceId, campaignId);
  if (before.status !== 'open') throw conflict('The campaign is already closed');
  const now = await holdersReport(db, audit.workspaceId, seal, subjectQuery(before), new Date());
  return db.transaction().execute(async (trx) => {
    const row = await findCampaign(trx, audit.workspaceId, campaignId, 'update');
    if (row.status !== 'open') throw conflict('The campaign is already closed');
    const reviewers = (await reviewersOf(trx, [row.id])).get(row.id) ?? [];
    const items = await itemsOf(trx, row);
    const revoked = items.filter((i) => i.decision === 'revoke');
    const stillHeld = revoked.filter((i) => i.changedDuringReview?.stillHolds !== false);
    const removals = await removalsOf(trx, row, stillHeld);
    const alreadyRemoved = revoked.filter((i) => i.changedDuringReview?.stillHolds === false).map((i) => ({ userId: i.userId, userName: i.userName, change: i.changedDuringReview! }));
    const reviewed = new Set(items.map((i) => i.userId));
    const closedAt = new Date();
    const closed: CampaignRow = { ...row, status: 'closed', closed_at: closedAt, closed_by: { ...audit.actor } };
    const evidence: Evidence = {
      campaign: viewOf(closed, reviewers, progressOf(items)),
      holders: items,
      removals,
      alreadyRemoved,
      newHolders: now.holders.filter((h) => !reviewed.has(h.userId)),
      auditHead: now.auditHead,
      generatedAt: closedAt.toISOString(),
    };
    await trx
      .updateTable('review_campaigns')
      .set({ status: 'closed', closed_at: closedAt, closed_by: JSON.stringify(audit.actor), evidence: JSON.stringify(evidence) })
      .where('id', '=', row.id)
      .execute();
    const { kept, revoked: revokedCount, undecided, changedDuringReview } = evidence.campaign.progress;
    await commit(trx, audit, [
      { type: 'review.closed', targetType: 'review', targetId: row.id, data: { kept, revoked: revokedCount, undecided, changedDuringReview, removals: removals.length } },
    ]);
    return evidence;
  });
}

/** A closed campaign's evidence, as frozen when it closed. */
export async function campaignEvidence(db: Db, workspaceId: string, caller: Reviewer, campaignId: string): Promise<Evidence> {
  const row = await findCampaign(db, workspaceId, campaignId);
  checkVisible(caller, (await reviewersOf(db, [row.id])).get(row.id) ?? [], campaignId);
  if (row.status !== 'closed' || row.evidence === null) throw conflict('The campaign is still open: its evidence is produced when it closes');
  return parsed<Evidence>(row.evidence);
}

// ---------------------------------------------------------------------------------------------
// Formats

/** One row per holder: the decision, who made it and when, any change while open, what to remove. */
export function evidenceCsv(evidence: Evidence): string {
  const removals = new Map(evidence.removals.map((r) => [r.userId, r]));
  return csvOf([
    ['user_id', 'user_name', 'held_since', 'reason', 'decision', 'comment', 'decided_by', 'decided_at', 'changed_during_review', 'still_holds', 'to_remove'],
    ...evidence.holders.map((h) => [
      h.userId,
      h.userName,
      h.since,
      h.reason,
      h.decision ?? 'undecided',
      h.comment,
      h.decidedBy?.display,
      h.decidedAt,
      h.changedDuringReview ? `${h.changedDuringReview.at} ${h.changedDuringReview.reason}` : '',
      h.changedDuringReview ? String(h.changedDuringReview.stillHolds) : 'true',
      removals.get(h.userId)?.instructions.join('; '),
    ]),
  ]);
}

/** The removals alone, one row per action: what an IdP administrator carries out. */
export function removalsCsv(evidence: Evidence): string {
  return csvOf([
    ['user_id', 'user_name', 'where', 'action', 'group_id', 'group', 'role_id', 'role', 'instruction', 'comment', 'decided_by'],
    ...evidence.removals.flatMap((r) =>
      r.actions.map((a, i) => [
        r.userId,
        r.userName,
        a.where,
        a.kind,
        a.kind === 'remove_from_group' ? a.groupId : '',
        a.kind === 'remove_from_group' ? a.displayName : '',
        'roleId' in a ? a.roleId : '',
        'roleName' in a ? a.roleName : '',
        r.instructions[i],
        r.comment,
        r.decidedBy,
      ]),
    ),
  ]);
}

/** A printable record of the campaign: for the auditor's file. */
export function evidenceHtml(evidence: Evidence): string {
  const c = evidence.campaign;
  const subject = `${c.subject.kind} ${c.subject.name}`;
  const rows = evidence.holders
    .map(
      (h) =>
        `<tr><td>${escapeHtml(h.userName ?? h.userId)}</td><td>${escapeHtml(h.reason)}</td><td>${escapeHtml(h.decision ?? 'undecided')}</td><td>${escapeHtml(h.comment ?? '')}</td><td>${escapeHtml(h.decidedBy?.display ?? '')}<br>${escapeHtml(h.decidedAt ?? '')}</td><td>${escapeHtml(h.changedDuringReview ? `${h.changedDuringReview.at}: ${h.changedDuringReview.reason}` : '')}</td></tr>`,
    )
    .join('\n');
  const removals = evidence.removals.flatMap((r) => r.instructions.map((i) => `<li>${escapeHtml(i)}</li>`)).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`Access review: ${c.name}`)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eee}pre{white-space:pre-wrap;font-size:12px}@media print{body{margin:0}}</style></head>
<body>
<h1>${escapeHtml(`Access review: ${c.name}`)}</h1>
<p>Holders of ${escapeHtml(subject)} when it opened (${escapeHtml(c.openedAt)}, by ${escapeHtml(c.openedBy.display ?? c.openedBy.id)}); due ${escapeHtml(c.dueAt)}; closed ${escapeHtml(c.closedAt)} by ${escapeHtml(c.closedBy?.display ?? c.closedBy?.id)}.
Reviewers: ${escapeHtml(c.reviewers.map((r) => r.display).join(', '))}.
${c.progress.kept} kept, ${c.progress.revoked} revoked, ${c.progress.undecided} undecided; ${c.progress.changedDuringReview} changed while it was open.</p>
<table><thead><tr><th scope="col">User</th><th scope="col">Why they held it</th><th scope="col">Decision</th><th scope="col">Comment</th><th scope="col">By, when</th><th scope="col">Changed during the review</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Removals to carry out</h2>
${removals ? `<ul>\n${removals}\n</ul>` : '<p>None.</p>'}
<h2>Gained while the review was open (not reviewed)</h2>
<p>${evidence.newHolders.length === 0 ? 'Nobody.' : escapeHtml(evidence.newHolders.map((h) => h.userName ?? h.userId).join(', '))}</p>
<h2>Audit checkpoint</h2>
<p>Tree size ${evidence.auditHead.treeSize}, root ${escapeHtml(evidence.auditHead.rootHash)}${evidence.auditHead.signed ? ', signed' : ', unsigned'}: every decision above is an audit event in this tree.</p>
<pre>${escapeHtml(evidence.auditHead.checkpoint)}</pre>
</body></html>
`;
}
