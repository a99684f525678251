import { sql, type Transaction } from 'kysely';
import type { AuditContext, NewAuditEvent } from '../audit/types.js';
import type { Database } from '../db/types.js';
import { projectionDuration } from '../metrics.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import { uuidArray } from '../repositories/ids.js';
import type { PolicyChangeRow } from '../repositories/policies.repository.js';
import { invalidateAuthCaches } from './auth-cache.js';
import { currentDryRun, rollBackDryRun } from './dry-run.js';
import { accessProjector, type AccessChange } from './effective-access.service.js';
import { policyProjector } from './effective-policy.service.js';

// The one commit step of every write: the change's audit events are appended, then each
// projector brings the state it derives from them (effective access, effective policy) up to date
// in the same transaction, choosing what to recompute from the events alone. (Every appended
// event, derived ones included, queues its webhook deliveries as it is inserted.) No service calls a
// projector; a write that forgets nothing cannot let derived state drift.
//
// Concurrent writes must not recompute a user from a state that misses the other's change (both
// would store their own half). Before projecting, a write therefore locks what its recomputes
// read and others may change:
// - most writes touch only the users their events name (their memberships, their lifecycle):
//   they hold the workspace's access lock SHARED and an advisory lock per user, taken in one
//   statement in key order, so two writes of one user run one after the other and the second
//   reads the first's result;
// - a change that can reach any user (a role's permissions, a mapping, a policy rule, the
//   default role, a group rename a mapping may match), or that names more than MAX_USER_LOCKS
//   users (an initial push; advisory locks share a bounded lock table), holds it EXCLUSIVE: it
//   waits for the writes in flight and holds off new ones until it commits. Such changes are rare.
// These locks are taken here and nowhere else, after the change's own row locks, so no
// transaction waits for a row while holding one of them: they cannot close a cycle with the
// services' lock order. Nothing is locked workspace-wide for the audit log itself.

/** An event as appended: its id is what derived events name as their cause. */
export interface CommittedEvent extends NewAuditEvent {
  id: string;
}

export interface Projector<Change> {
  name: string;
  /**
   * Event types whose commit can change what the projector keeps; every other type of the
   * catalogue is listed in `ignores`, so that a new event type is a decision, not an omission.
   */
  dependsOn: readonly string[];
  ignores: readonly string[];
  project(trx: Transaction<Database>, audit: AuditContext, events: readonly CommittedEvent[]): Promise<Change[]>;
}

export interface Commit {
  eventIds: string[];
  accessChanges: AccessChange[];
  /** Users whose effective policy changed. */
  policyChanges: PolicyChangeRow[];
}

// A function, not a constant: the projectors' modules import this one.
const projectors = (): readonly Projector<unknown>[] => [accessProjector, policyProjector];

/** Event types whose recomputes stay within the users they name (see above). */
const PER_USER_EVENTS = new Set([
  'user.created',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'user.role_assigned',
  'user.role_unassigned',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
]);

function namedUser(event: NewAuditEvent): string | undefined {
  if (event.targetType === 'user') return event.targetId;
  const userId = event.data?.userId;
  return typeof userId === 'string' ? userId : undefined;
}

export const MAX_USER_LOCKS = 100;

async function lockAccessInputs(trx: Transaction<Database>, workspaceId: string, events: readonly NewAuditEvent[]): Promise<void> {
  const relevant = events.filter((e) => projectors().some((p) => p.dependsOn.includes(e.type)));
  if (relevant.length === 0) return;
  const key = sql`hashtextextended(${`codex-scim access ${workspaceId}`}, 0)`;
  const userIds = [...new Set(relevant.map(namedUser).filter((id): id is string => id !== undefined))];
  if (userIds.length > MAX_USER_LOCKS || relevant.some((e) => !PER_USER_EVENTS.has(e.type))) {
    await sql`select pg_advisory_xact_lock(${key})`.execute(trx);
    return;
  }
  if (userIds.length === 0) {
    await sql`select pg_advisory_xact_lock_shared(${key})`.execute(trx);
    return;
  }
  // One round trip: the shared lock first (the CTE is read before the sort is fed), then the
  // users' in key order (PostgreSQL evaluates volatile output expressions after the sort).
  await sql`
    with workspace as materialized (select pg_advisory_xact_lock_shared(${key}))
    select pg_advisory_xact_lock(k) from workspace, (
      select distinct hashtextextended('codex-scim user ' || ${workspaceId} || ' ' || x.id, 0) as k from unnest(${uuidArray(userIds)}) as x(id)
    ) keys order by k`.execute(trx);
}

/**
 * Changes to what a verified bearer token stands for: remembered tokens (auth-cache.ts) are
 * forgotten at once in this process; a request verified between this and the commit is
 * remembered at most AUTH_CACHE_TTL_MS, so other instances and this one agree within that.
 */
const AUTH_EVENTS = new Set(['token.revoked', 'token.rotated', 'oauth_client.revoked', 'scim.extension_declared', 'scim.extension_changed', 'scim.extension_removed', 'workspace.settings_changed']);

/**
 * In a dry run (src/services/dry-run.ts) the commit step goes as far as the projectors, then
 * describes what the write would change and rolls its transaction back by throwing.
 */
export async function commit(trx: Transaction<Database>, audit: AuditContext, events: readonly NewAuditEvent[]): Promise<Commit> {
  const dryRun = currentDryRun();
  if (events.length === 0) return dryRun ? rollBackDryRun(trx, audit.workspaceId, dryRun, [], [], []) : { eventIds: [], accessChanges: [], policyChanges: [] };
  if (events.some((e) => AUTH_EVENTS.has(e.type))) invalidateAuthCaches();
  await lockAccessInputs(trx, audit.workspaceId, events);
  const eventIds = await appendAuditEvents(trx, audit, [...events]);
  const committed = events.map((event, i): CommittedEvent => ({ ...event, id: eventIds[i]! }));
  // Access first: the policy projector reads nothing access writes, but access events then
  // precede policy events in the trail, as they always have.
  const accessChanges = await timed(accessProjector, trx, audit, committed);
  const policyChanges = await timed(policyProjector, trx, audit, committed);
  if (dryRun) return rollBackDryRun(trx, audit.workspaceId, dryRun, events, accessChanges, policyChanges);
  return { eventIds, accessChanges, policyChanges };
}

/** Runs a projector, recording how long it took when one of the events concerns it. */
async function timed<Change>(projector: Projector<Change>, trx: Transaction<Database>, audit: AuditContext, events: readonly CommittedEvent[]): Promise<Change[]> {
  if (!events.some((event) => projector.dependsOn.includes(event.type))) return projector.project(trx, audit, events);
  const stop = projectionDuration.startTimer({ projector: projector.name.replace(/ /g, '_') });
  try {
    return await projector.project(trx, audit, events);
  } finally {
    stop();
  }
}
