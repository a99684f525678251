import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Transaction } from 'kysely';
import type { NewAuditEvent } from '../audit/types.js';
import type { Database } from '../db/types.js';
import { uuidArray } from '../repositories/ids.js';
import type { EffectivePolicy, PolicyChangeRow } from '../repositories/policies.repository.js';
import { changesPermissions, type AccessChange } from './effective-access.service.js';
import { decodeCursor, encodeCursor } from './pagination.js';

// Dry runs: any write that goes through the commit step can be previewed. The write
// runs exactly as it would, in its own transaction, up to the commit step; there, once the
// projectors have worked out whose access and policy change, the commit step describes that and
// throws DryRunRollback, so the transaction rolls back. Nothing is written (its audit events, the
// webhook deliveries they would queue and the recomputed state go with the rollback), and no other
// transaction ever saw any of it: PostgreSQL shows nobody another transaction's uncommitted rows.

export interface DryRunPage {
  /** Affected users per page, ordered by userName then id. */
  limit: number;
  /** The last user of the previous page (its name key and id), from its `nextCursor`. */
  after?: [string, string];
}

export interface SimulatedPolicy {
  policyId: string;
  name: string;
  version: number;
  /** 'rule': the first rule naming one of the user's groups; 'fallback': no rule matched. */
  source: 'rule' | 'fallback';
}

export interface SimulatedUser {
  userId: string;
  userName: string | null;
  displayName: string | null;
  permissionsBefore: string[];
  permissionsAfter: string[];
  gained: string[];
  lost: string[];
  /** Ids of the roles the user holds of their own (directly or through groups), before and after. */
  rolesBefore: string[];
  rolesAfter: string[];
  policyBefore: SimulatedPolicy | null;
  policyAfter: SimulatedPolicy | null;
  policyChanged: boolean;
}

export interface Simulation {
  dryRun: true;
  /** The audit events the write would record, counted by type (derived ones included). */
  events: Array<{ type: string; count: number }>;
  totals: {
    /** Users whose effective permissions, roles or effective policy would change. */
    users: number;
    accessChangedUsers: number;
    policyChangedUsers: number;
    permissions: Array<{ key: string; gained: number; lost: number }>;
    policies: Array<{ policyId: string; name: string; gained: number; lost: number }>;
  };
  users: SimulatedUser[];
  nextCursor: string | null;
}

/** Thrown by the commit step of a dry run to roll its transaction back, carrying what it found. */
class DryRunRollback extends Error {
  constructor(readonly simulation: Simulation) {
    super('dry run: rolled back');
  }
}

const dryRuns = new AsyncLocalStorage<DryRunPage>();

/** The page a dry run in progress asks for, or undefined outside one. */
export function currentDryRun(): DryRunPage | undefined {
  return dryRuns.getStore();
}

/**
 * Runs `write` as a dry run and returns what it would change. A write that never reaches the
 * commit step (one that changes nothing, e.g. assigning a role the user already has) returns an
 * empty simulation. Errors of the write itself (bad input, not found, conflicts) are thrown as
 * they would be by the real write.
 */
export async function dryRun(page: DryRunPage, write: () => Promise<unknown>): Promise<Simulation> {
  try {
    await dryRuns.run(page, write);
  } catch (error) {
    if (error instanceof DryRunRollback) return error.simulation;
    throw error;
  }
  return emptySimulation();
}

/** What a write that reaches its reply in a dry run, without committing anything, reports. */
export function noChange(): never {
  throw new DryRunRollback(emptySimulation());
}

function emptySimulation(): Simulation {
  return { dryRun: true, events: [], totals: { users: 0, accessChangedUsers: 0, policyChangedUsers: 0, permissions: [], policies: [] }, users: [], nextCursor: null };
}

interface Affected {
  userId: string;
  userName: string | null;
  displayName: string | null;
  access?: AccessChange;
  policy?: PolicyChangeRow;
}

const nameKey = (u: Pick<Affected, 'userName'>) => u.userName ?? '';
const cursorOf = (u: Affected) => encodeCursor([nameKey(u), u.userId]);

/** A page of a dry run's users; a cursor that is not one a dry run returned is refused before anything runs. */
export function dryRunPage(limit: number, cursor?: string): DryRunPage {
  const after = decodeCursor(cursor, 2, (key) => key.every((k) => typeof k === 'string'));
  return after ? { limit, after: after as [string, string] } : { limit };
}

const byNameThenId = (a: Affected, b: Affected) => (nameKey(a) < nameKey(b) ? -1 : nameKey(a) > nameKey(b) ? 1 : a.userId < b.userId ? -1 : 1);

const policyRef = (p: EffectivePolicy | null): SimulatedPolicy | null => (p ? { policyId: p.policyId, name: p.policyName, version: p.version, source: p.source } : null);

/**
 * Called by the commit step of a dry run once the projectors have run: describes the write's
 * effect as seen inside its transaction, and rolls the transaction back.
 */
export async function rollBackDryRun(
  trx: Transaction<Database>,
  workspaceId: string,
  page: DryRunPage,
  events: readonly NewAuditEvent[],
  accessChanges: readonly AccessChange[],
  policyChanges: readonly PolicyChangeRow[],
): Promise<never> {
  const byUser = new Map<string, Affected>();
  const affected = (userId: string) => {
    let entry = byUser.get(userId);
    if (!entry) byUser.set(userId, (entry = { userId, userName: null, displayName: null }));
    return entry;
  };
  for (const change of accessChanges) affected(change.userId).access = change;
  for (const change of policyChanges) affected(change.userId).policy = change;

  // Names as the write leaves them; a user the write deletes is named by its own event.
  const named = await sql<{ id: string; user_name: string; display_name: string | null }>`
    select id, user_name, resource->>'displayName' as display_name from users where workspace_id = ${workspaceId} and id = any(${uuidArray([...byUser.keys()])})`.execute(trx);
  for (const row of named.rows) Object.assign(byUser.get(row.id)!, { userName: row.user_name, displayName: row.display_name });
  for (const event of events) {
    const entry = event.type === 'user.deleted' ? byUser.get(event.targetId) : undefined;
    if (entry && typeof event.data?.userName === 'string') entry.userName = event.data.userName;
  }

  const ordered = [...byUser.values()].sort(byNameThenId);
  const [afterName, afterId] = page.after ?? [];
  const remaining = afterId === undefined ? ordered : ordered.filter((u) => nameKey(u) > afterName! || (nameKey(u) === afterName && u.userId > afterId));
  const shown = remaining.slice(0, page.limit);

  // What does not change of the shown users (their permissions, or their policy), as it stands.
  const samePolicy = shown.filter((u) => !u.policy).map((u) => u.userId);
  const sameAccess = shown.filter((u) => !u.access).map((u) => u.userId);
  const current = new Map<string, SimulatedPolicy>();
  const granted = new Map<string, { granted: string[]; roleIds: string[] }>();
  if (samePolicy.length > 0) {
    const rows = await sql<{ user_id: string; policy_id: string; name: string; policy_version: number; source: 'rule' | 'fallback' }>`
      select up.user_id, up.policy_id, p.name, up.policy_version, up.source from user_policy up join policies p on p.id = up.policy_id
      where up.workspace_id = ${workspaceId} and up.user_id = any(${uuidArray(samePolicy)})`.execute(trx);
    for (const r of rows.rows) current.set(r.user_id, { policyId: r.policy_id, name: r.name, version: r.policy_version, source: r.source });
  }
  if (sameAccess.length > 0) {
    const rows = await sql<{ user_id: string; granted: string[]; role_ids: string[] }>`
      select user_id, granted, role_ids from user_access where workspace_id = ${workspaceId} and user_id = any(${uuidArray(sameAccess)})`.execute(trx);
    for (const r of rows.rows) granted.set(r.user_id, { granted: [...r.granted].sort(), roleIds: r.role_ids });
  }

  const eventCounts = new Map<string, number>();
  const count = (type: string, n: number) => n > 0 && eventCounts.set(type, (eventCounts.get(type) ?? 0) + n);
  for (const event of events) count(event.type, 1);
  count('access.changed', accessChanges.length);
  count('policy.effective_changed', policyChanges.length);

  throw new DryRunRollback({
    dryRun: true,
    events: [...eventCounts].map(([type, n]) => ({ type, count: n })),
    totals: {
      users: byUser.size,
      accessChangedUsers: accessChanges.filter(changesPermissions).length,
      policyChangedUsers: policyChanges.length,
      permissions: permissionTotals(accessChanges),
      policies: policyTotals(policyChanges),
    },
    users: shown.map((u): SimulatedUser => {
      const unchanged = granted.get(u.userId);
      const permissionsAfter = u.access?.after ?? unchanged?.granted ?? [];
      const rolesAfter = u.access?.rolesAfter ?? unchanged?.roleIds ?? [];
      const policyAfter = u.policy ? policyRef(u.policy.after) : (current.get(u.userId) ?? null);
      return {
        userId: u.userId,
        userName: u.userName,
        displayName: u.displayName,
        permissionsBefore: u.access?.before ?? permissionsAfter,
        permissionsAfter,
        gained: u.access?.granted ?? [],
        lost: u.access?.revoked ?? [],
        rolesBefore: u.access?.rolesBefore ?? rolesAfter,
        rolesAfter,
        policyBefore: u.policy ? policyRef(u.policy.before) : policyAfter,
        policyAfter,
        policyChanged: u.policy !== undefined,
      };
    }),
    nextCursor: remaining.length > page.limit ? cursorOf(shown[shown.length - 1]!) : null,
  });
}

function permissionTotals(changes: readonly AccessChange[]) {
  const totals = new Map<string, { key: string; gained: number; lost: number }>();
  const entry = (key: string) => totals.get(key) ?? totals.set(key, { key, gained: 0, lost: 0 }).get(key)!;
  for (const change of changes) {
    for (const key of change.granted) entry(key).gained++;
    for (const key of change.revoked) entry(key).lost++;
  }
  return [...totals.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

function policyTotals(changes: readonly PolicyChangeRow[]) {
  const totals = new Map<string, { policyId: string; name: string; gained: number; lost: number }>();
  const entry = (p: EffectivePolicy) => totals.get(p.policyId) ?? totals.set(p.policyId, { policyId: p.policyId, name: p.policyName, gained: 0, lost: 0 }).get(p.policyId)!;
  for (const change of changes) {
    if (change.before?.policyId === change.after?.policyId) continue; // a new version of the same policy
    if (change.before) entry(change.before).lost++;
    if (change.after) entry(change.after).gained++;
  }
  return [...totals.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
