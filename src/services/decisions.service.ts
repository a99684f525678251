import { sql } from 'kysely';
import { AccessValidationError } from '../access/errors.js';
import type { Decision as Decider, ResolvedRole } from '../access/resolve.js';
import type { Executor } from '../db/index.js';
import { isUuid, uuidArray } from '../repositories/ids.js';
import { explainUsers } from './effective-access.service.js';

// Decisions for machines: may these users do these things, and why — the same
// explanation the admin API gives people, from one snapshot, for up to MAX_DECISION_USERS users
// named by id, userName, externalId or email in a fixed number of queries.

export const MAX_DECISION_USERS = 1000;

export interface DecisionRequest {
  users: string[];
  /** Permission keys; absent: every permission of the catalogue. */
  permissions?: string[];
}

export interface PermissionDecision {
  user: string;
  userId: string | null;
  permission: string;
  allow: boolean;
  /** allow / deny (a role's), baseline, inactive (deactivated user), deleted, unknown_user, ambiguous_user. */
  decidedBy: Decider | 'unknown_user' | 'ambiguous_user';
  /** The roles that allow or deny it, each with how the user has it (group and mapping, direct, default role). */
  roles: ResolvedRole[];
  reason: string;
}

export interface DecisionResponse {
  decisions: PermissionDecision[];
}

/** Each ref's matching user ids: by id, then userName, then externalId, then email (case-insensitive except externalId). */
async function resolveRefs(db: Executor, workspaceId: string, refs: readonly string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const ids = [...new Set(refs.filter(isUuid).map((r) => r.toLowerCase()))];
  const direct = await sql<{ ref: string; id: string; how: number }>`
    select u.id::text as ref, u.id, 0 as how from users u where u.workspace_id = ${workspaceId} and u.id = any(${uuidArray(ids)})
    union all
    select x.ref, u.id, 1 from users u join jsonb_array_elements_text(${JSON.stringify(refs)}::jsonb) as x(ref) on lower(u.user_name) = lower(x.ref)
     where u.workspace_id = ${workspaceId} and lower(u.user_name) = any(${sql.val(refs.map((r) => r.toLowerCase()))}::text[])
    union all
    select x.ref, u.id, 2 from users u join jsonb_array_elements_text(${JSON.stringify(refs)}::jsonb) as x(ref) on u.external_id = x.ref
     where u.workspace_id = ${workspaceId} and u.external_id = any(${sql.val(refs)}::text[])`.execute(db);
  // The first way a ref matches decides (an id beats a userName that looks like an id).
  const refsOfId = new Map<string, string[]>();
  for (const ref of refs.filter(isUuid)) refsOfId.set(ref.toLowerCase(), [...(refsOfId.get(ref.toLowerCase()) ?? []), ref]);
  const best = new Map<string, number>();
  for (const row of direct.rows) {
    const how = Number(row.how);
    for (const ref of how === 0 ? (refsOfId.get(row.ref) ?? []) : [row.ref]) {
      if ((best.get(ref) ?? 9) < how) continue;
      if ((best.get(ref) ?? 9) > how) found.set(ref, []);
      best.set(ref, how);
      found.get(ref)!.push(row.id);
    }
  }
  const left = refs.filter((r) => !found.has(r) && r.includes('@'));
  if (left.length > 0) {
    const byEmail = await sql<{ email: string; id: string }>`
      select distinct lower(e->>'value') as email, u.id from users u
        cross join jsonb_array_elements(case when jsonb_typeof(u.resource->'emails') = 'array' then u.resource->'emails' else '[]'::jsonb end) as e
       where u.workspace_id = ${workspaceId} and lower(e->>'value') in (select jsonb_array_elements_text(${JSON.stringify(left.map((r) => r.toLowerCase()))}::jsonb))`.execute(db);
    const usersOfEmail = new Map<string, string[]>();
    for (const row of byEmail.rows) usersOfEmail.set(row.email, [...(usersOfEmail.get(row.email) ?? []), row.id]);
    for (const ref of left) {
      const matches = usersOfEmail.get(ref.toLowerCase());
      if (matches) found.set(ref, matches);
    }
  }
  return found;
}

/** The route's schema checks the shape (1 to MAX_DECISION_USERS strings); a blank ref it cannot. */
function checkRequest(request: DecisionRequest): void {
  request.users.forEach((ref, i) => {
    if (ref.trim() === '') throw new AccessValidationError(`users.${i}`, 'must be a user id, userName, externalId or email');
  });
}

/** One decision per (user, permission), users in request order, permissions in the order asked (or catalogue order). */
export async function decide(db: Executor, workspaceId: string, request: DecisionRequest): Promise<DecisionResponse> {
  checkRequest(request);
  const refs = [...new Set(request.users)];
  // The decisions come from one snapshot: explainUsers' one statement (the access model from
  // memory while unchanged), so no transaction is opened. Refs are tried as ids in that statement
  // first, since an id beats every other match: a gateway asking by user id costs one statement.
  // Any other ref is resolved first and everyone explained again together.
  let explained = new Map((await explainUsers(db, workspaceId, refs.filter(isUuid))).map((e) => [e.user.id, e]));
  const matches = new Map(refs.filter((r) => isUuid(r) && explained.has(r.toLowerCase())).map((r) => [r, [r.toLowerCase()]]));
  const rest = refs.filter((r) => !matches.has(r));
  if (rest.length > 0) {
    for (const [ref, ids] of await resolveRefs(db, workspaceId, rest)) matches.set(ref, ids);
    const ids = [...new Set([...matches.values()].filter((m) => m.length === 1).map((m) => m[0]!))];
    explained = new Map((await explainUsers(db, workspaceId, ids)).map((e) => [e.user.id, e]));
  }
  const catalogue = [...explained.values()][0]?.permissions.map((p) => p.key) ?? (await catalogueKeys(db, workspaceId));
  const permissions = request.permissions ?? catalogue;
  const unknown = permissions.filter((p) => !catalogue.includes(p));
  if (unknown.length > 0) throw new AccessValidationError('permissions', `unknown permission ${unknown.map((p) => JSON.stringify(p)).join(', ')}`);
  const decisions: PermissionDecision[] = [];
  for (const ref of refs) {
    const m = matches.get(ref) ?? [];
    const e = m.length === 1 ? explained.get(m[0]!) : undefined;
    for (const permission of permissions) {
      if (!e) {
        const ambiguous = m.length > 1;
        decisions.push({
          user: ref,
          userId: null,
          permission,
          allow: false,
          decidedBy: ambiguous ? 'ambiguous_user' : 'unknown_user',
          roles: [],
          reason: ambiguous ? `${JSON.stringify(ref)} names ${m.length} users (an email they share); ask by id or userName` : `no user ${JSON.stringify(ref)} in this workspace`,
        });
        continue;
      }
      const p = e.permissions.find((x) => x.key === permission)!;
      decisions.push({ user: ref, userId: e.user.id, permission, allow: p.value, decidedBy: p.decidedBy, roles: p.value ? p.allowedBy : p.deniedBy, reason: p.reasons.join('; ') });
    }
  }
  return { decisions };
}

async function catalogueKeys(db: Executor, workspaceId: string): Promise<string[]> {
  const rows = await db.selectFrom('permissions').select('key').where('workspace_id', '=', workspaceId).orderBy('key').execute();
  return rows.map((r) => r.key);
}
