import { sql, type RawBuilder } from 'kysely';
import type { GroupFacts, UserFacts } from '../access/model.js';
import type { Executor } from '../db/index.js';
import { isUuid, uuidArray } from './ids.js';

// Effective access in SQL: the set-based recompute that maintains user_access, the facts the pure
// resolver needs to explain one user's access, and the holders of a permission.
//
// The recompute implements the rules of src/access/resolve.ts (read that first); the property
// test in test/access/recompute.test.ts checks on random data that both give the same result.

/**
 * Which users a recompute covers: everyone in the workspace, or the union of named users, the
 * members of groups, and the users who hold one of the roles now (the users a change to those
 * roles' permissions can affect): their own roles in user_access.role_ids, or none of their own
 * when it is the default role.
 */
export type AccessScope = 'workspace' | { userIds?: readonly string[]; groupIds?: readonly string[]; roleIds?: readonly string[] };

export interface AccessChangeRow {
  userId: string;
  before: string[];
  after: string[];
  /** The roles the user holds of their own, directly or through groups (sorted ids; none while deactivated), before and after. */
  rolesBefore: string[];
  rolesAfter: string[];
}

/**
 * (group_id, mapping_id, role_id) for every group a mapping matches now. One branch per kind of
 * reference, each an index lookup (groups_workspace_display_name_key serves lower(display_name));
 * exactly one reference of a mapping is set, so the branches never repeat a row.
 */
function groupMappingsSql(workspaceId: string): RawBuilder<unknown> {
  return sql`
    select g.id as group_id, m.id as mapping_id, m.role_id
      from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.id = m.group_id
     where m.workspace_id = ${workspaceId} and m.group_id is not null
    union all
    select g.id, m.id, m.role_id
      from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.external_id = m.group_external_id
     where m.workspace_id = ${workspaceId} and m.group_external_id is not null
    union all
    select g.id, m.id, m.role_id
      from role_mappings m join groups g on g.workspace_id = m.workspace_id and lower(g.display_name) = lower(m.group_display_name)
     where m.workspace_id = ${workspaceId} and m.group_display_name is not null`;
}

/**
 * The mappings that match one group (`group` names its row): the matching of groupMappingsSql,
 * for readers of a few users' groups, which need not join every group of the workspace.
 */
function mappingsOfGroupSql(workspaceId: string, group: string): RawBuilder<unknown> {
  const g = (column: string) => sql.ref(`${group}.${column}`);
  return sql`
    select m.id as mapping_id from role_mappings m
     where m.workspace_id = ${workspaceId}
       and (m.group_id = ${g('id')} or m.group_external_id = ${g('external_id')} or lower(m.group_display_name) = lower(${g('display_name')}))`;
}

export function scopeIdsSql(workspaceId: string, scope: AccessScope): RawBuilder<unknown> | undefined {
  if (scope === 'workspace') {
    // user_access too: rows of users deleted without a recompute (none should exist) are cleared.
    return sql`select id as user_id from users where workspace_id = ${workspaceId}
               union select user_id from user_access where workspace_id = ${workspaceId}`;
  }
  const parts: RawBuilder<unknown>[] = [];
  if (scope.userIds && scope.userIds.length > 0) parts.push(sql`select x.id as user_id from unnest(${uuidArray(scope.userIds)}) as x(id)`);
  if (scope.groupIds && scope.groupIds.length > 0) {
    parts.push(sql`select gm.user_id from group_members gm join unnest(${uuidArray(scope.groupIds)}) as x(id) on gm.group_id = x.id`);
  }
  if (scope.roleIds && scope.roleIds.length > 0) {
    // role_ids are the user's own roles: the default role's holders are those with none.
    parts.push(sql`select ua.user_id from user_access ua where ua.workspace_id = ${workspaceId}
      and (ua.role_ids && ${uuidArray(scope.roleIds)}
           or (ua.role_ids = '{}' and exists (select 1 from workspace_access_settings st
                where st.workspace_id = ${workspaceId} and st.default_role_id = any(${uuidArray(scope.roleIds)}))))`);
  }
  if (parts.length === 0) return undefined;
  return sql.join(parts, sql` union `);
}

/** The one statement of recomputeAccess (exported so its SQL is snapshotted for review). */
export function recomputeAccessStatement(workspaceId: string, scopeIds: RawBuilder<unknown>) {
  return sql<{ user_id: string; before: string[]; after: string[]; roles_before: string[]; roles_after: string[] }>`
    with settings as (
      select coalesce(max(strategy), 'most-permissive') as strategy, max(default_role_id::text)::uuid as default_role_id
        from workspace_access_settings where workspace_id = ${workspaceId}
    ),
    scope as (
      select i.user_id, u.id is not null as present, coalesce(u.active, false) as active
        from (${scopeIds}) as i
        left join users u on u.id = i.user_id and u.workspace_id = ${workspaceId}
    ),
    group_roles as (${groupMappingsSql(workspaceId)}),
    -- direct roles ∪ roles mapped to the user's groups (duplicates removed in role_sets)
    assigned as (
      select ur.user_id, ur.role_id
        from user_roles ur join scope s on s.user_id = ur.user_id and s.present
      union all
      select gm.user_id, gr.role_id
        from group_members gm join scope s on s.user_id = gm.user_id and s.present
        join group_roles gr on gr.group_id = gm.group_id
    ),
    -- The user's role set — or the default role when that is empty — is all that decides their
    -- permissions besides their own state. Users share a handful of role sets, so the permissions
    -- are resolved once per distinct set, not once per user.
    role_sets as (
      select s.user_id, s.present, s.active,
             -- the roles the user holds of their own (none while deactivated): user_access.role_ids
             case when s.active then coalesce(r.role_ids, '{}'::uuid[]) else '{}'::uuid[] end as own_role_ids,
             case when r.role_ids is not null then r.role_ids
                  when s.present and st.default_role_id is not null then array[st.default_role_id]
                  else '{}'::uuid[] end as role_ids
        from scope s
        cross join settings st
        left join (select user_id, array_agg(distinct role_id order by role_id) as role_ids from assigned group by user_id) as r
          on r.user_id = s.user_id
    ),
    distinct_sets as (
      select distinct role_ids from role_sets
    ),
    votes as (
      select d.role_ids, rp.permission_key as key, bool_or(rp.effect = 'allow') as allowed, bool_or(rp.effect = 'deny') as denied
        from distinct_sets d
        cross join lateral unnest(d.role_ids) as x(role_id)
        join role_permissions rp on rp.role_id = x.role_id
       group by d.role_ids, rp.permission_key
    ),
    held as (
      -- the votes combined by the strategy; the baseline when no role decides the permission
      select d.role_ids, p.key
        from distinct_sets d
        cross join settings st
        join permissions p on p.workspace_id = ${workspaceId}
        left join votes v on v.role_ids = d.role_ids and v.key = p.key
       where case when v.key is null then p.baseline
                  when st.strategy = 'deny-overrides' then not v.denied and (v.allowed or p.baseline)
                  else v.allowed or (not v.denied and p.baseline) end
    ),
    set_granted as (
      select role_ids, array_agg(key order by key collate "C") as granted from held group by role_ids
    ),
    computed as (
      select rs.user_id, rs.present, rs.own_role_ids as role_ids,
             -- a deactivated (or deleted) user holds nothing
             case when rs.active then coalesce(sg.granted, '{}'::text[]) else '{}'::text[] end as granted
        from role_sets rs
        left join set_granted sg on sg.role_ids = rs.role_ids
    ),
    changed as (
      select c.user_id, c.present, c.granted, c.role_ids, coalesce(o.granted, '{}'::text[]) as before, coalesce(o.role_ids, '{}'::uuid[]) as roles_before
        from computed c
        left join user_access o on o.workspace_id = ${workspaceId} and o.user_id = c.user_id
       where case when c.present then o.user_id is null or o.granted <> c.granted or o.role_ids <> c.role_ids
                  else o.user_id is not null end
    ),
    upserted as (
      insert into user_access (user_id, workspace_id, granted, role_ids, updated_at)
      select user_id, ${workspaceId}, granted, role_ids, now() from changed where present
      on conflict (workspace_id, user_id) do update
        set granted = excluded.granted, role_ids = excluded.role_ids, updated_at = excluded.updated_at
      returning 1
    ),
    removed as (
      delete from user_access ua using changed c
       where ua.workspace_id = ${workspaceId} and ua.user_id = c.user_id and not c.present
      returning 1
    )
    select user_id, before, granted as after, roles_before, role_ids as roles_after
      from changed where before <> granted or roles_before <> role_ids order by user_id`;
}

/**
 * Recomputes the effective access of every user in `scope` in one statement, writes the rows of
 * user_access that differ (upsert; a user who no longer exists loses the row) and returns the
 * users whose granted permissions or roles changed, with before and after, in user id order.
 *
 * Runs in the caller's transaction, after the change it accounts for, under the locks the commit
 * step takes (src/services/commit.ts): without them concurrent recomputes could each write a
 * snapshot computed without the other's change.
 */
export async function recomputeAccess(db: Executor, workspaceId: string, scope: AccessScope): Promise<AccessChangeRow[]> {
  const scopeIds = scopeIdsSql(workspaceId, scope);
  if (!scopeIds) return [];
  const result = await recomputeAccessStatement(workspaceId, scopeIds).execute(db);
  return result.rows.map((r) => ({ userId: r.user_id, before: r.before, after: r.after, rolesBefore: r.roles_before, rolesAfter: r.roles_after }));
}

// ---------------------------------------------------------------------------------------------
// Facts for explain

export interface UserSummary {
  id: string;
  userName: string;
  displayName: string | null;
  /** The primary email, else the first one. */
  email: string | null;
  active: boolean;
}

export interface UserAccessFacts {
  user: UserSummary;
  facts: UserFacts;
  /** The stored snapshot (user_access), or null when the user has none yet. */
  snapshot: { granted: string[]; roleIds: string[]; updatedAt: Date } | null;
}

const primaryEmailSql = sql<string | null>`(
  select e->>'value' from jsonb_array_elements(case when jsonb_typeof(u.resource->'emails') = 'array' then u.resource->'emails' else '[]'::jsonb end) as e
  order by coalesce(e->>'primary', '') = 'true' desc limit 1)`;

export interface LoadedFacts {
  users: UserAccessFacts[];
  /** The workspace's access model version in the same snapshot (migrations/2026120302). */
  modelVersion: number;
}

/**
 * Everything the resolver needs about these users, in one statement whatever their number (so one
 * snapshot even outside a transaction), with group → mapping matches computed by SQL (the same
 * fragment as the recompute), so explain and user_access cannot disagree on what a displayName
 * matches, and the access model's version beside them. Users not in the workspace are absent.
 */
export async function loadUserAccessFacts(db: Executor, workspaceId: string, userIds: readonly string[]): Promise<LoadedFacts> {
  const ids = [...new Set(userIds.filter(isUuid).map((id) => id.toLowerCase()))];
  // One id gets a statement of its own: PostgreSQL keeps one plan for a prepared statement only
  // when its generic plan costs no more than the custom ones, which an array of unknown length
  // never does, so every single-user decision was planned again (0.4 ms of its 0.5 ms).
  const idMatch = ids.length === 1 ? sql`u.id = ${ids[0]}::uuid` : sql`u.id = any(${uuidArray(ids)})`;
  // One row per user found (a single row of nulls when none is), each with its direct roles,
  // groups and snapshot: no aggregate over every user, so one user costs index look-ups only.
  const { rows } = await sql<{
    model_version: number | string;
    id: string | null;
    user_name: string;
    display_name: string | null;
    email: string | null;
    active: boolean;
    direct: string[];
    groups: Array<[id: string, displayName: string, externalId: string | null, mappingIds: string[]]> | null;
    granted: string[] | null;
    role_ids: string[] | null;
    updated_at: Date | null;
  }>`
    select v.model_version, u.id, u.user_name, u.resource->>'displayName' as display_name, ${primaryEmailSql} as email, u.active,
           array(select ur.role_id from user_roles ur where ur.user_id = u.id order by ur.role_id) as direct,
           (select json_agg(json_build_array(g.id, g.display_name, g.external_id,
                     array(select gm2.mapping_id from (${mappingsOfGroupSql(workspaceId, 'g')}) gm2 order by gm2.mapping_id))
                     order by lower(g.display_name), g.id)
              from group_members gm join groups g on g.id = gm.group_id and g.workspace_id = ${workspaceId}
             where gm.user_id = u.id) as groups,
           ua.granted, ua.role_ids, ua.updated_at
      from (select coalesce((select version from access_model_versions where workspace_id = ${workspaceId}), 0) as model_version) v
      left join users u on u.workspace_id = ${workspaceId} and ${idMatch}
      left join user_access ua on ua.workspace_id = ${workspaceId} and ua.user_id = u.id`.execute(db);
  const byId = new Map(rows.filter((r) => r.id !== null).map((r) => [r.id!, r]));
  const users = ids.flatMap((id): UserAccessFacts[] => {
    const u = byId.get(id);
    if (!u) return [];
    return [
      {
        user: { id, userName: u.user_name, displayName: u.display_name, email: u.email, active: u.active },
        facts: {
          id,
          active: u.active,
          directRoleIds: u.direct,
          groups: (u.groups ?? []).map(([gid, displayName, externalId, mappingIds]): GroupFacts => ({ id: gid, displayName, externalId, matchedMappingIds: mappingIds })),
        },
        snapshot: u.granted && u.role_ids && u.updated_at ? { granted: u.granted, roleIds: u.role_ids, updatedAt: new Date(u.updated_at) } : null,
      },
    ];
  });
  return { users, modelVersion: Number(rows[0]!.model_version) };
}

/**
 * Users a reference names: an id, else a userName (case-insensitive, RFC 7643 §4.1.1), else an
 * email address (case-insensitive). More than one row means the reference is ambiguous.
 */
export async function findUsersByRef(db: Executor, workspaceId: string, ref: string): Promise<string[]> {
  if (isUuid(ref)) {
    const byId = await db.selectFrom('users').select('id').where('workspace_id', '=', workspaceId).where('id', '=', ref.toLowerCase()).execute();
    if (byId.length > 0) return byId.map((r) => r.id);
  }
  const byName = await db
    .selectFrom('users')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where(sql`lower(user_name)`, '=', sql`lower(${ref})`)
    .execute();
  if (byName.length > 0) return byName.map((r) => r.id);
  const byEmail = await sql<{ id: string }>`
    select u.id from users u
     where u.workspace_id = ${workspaceId}
       and jsonb_typeof(u.resource->'emails') = 'array'
       and exists (select 1 from jsonb_array_elements(u.resource->'emails') as e where lower(e->>'value') = lower(${ref}))
     order by u.id limit 10`.execute(db);
  return byEmail.rows.map((r) => r.id);
}

// ---------------------------------------------------------------------------------------------
// Holders

export type HolderRow = UserSummary;

/**
 * One keyset page of the users holding `key`, in user id order, straight from user_access:
 * `granted @> array[key]` is served by the GIN index (or, for a common permission, by walking
 * (workspace_id, user_id) and filtering), so the cost is the page's, not the workspace's.
 */
export async function holdersPage(db: Executor, workspaceId: string, key: string, afterUserId: string | undefined, limit: number): Promise<HolderRow[]> {
  const after = afterUserId ? sql`and ua.user_id > ${afterUserId}` : sql``;
  const result = await sql<{ id: string; user_name: string; display_name: string | null; email: string | null; active: boolean }>`
    select u.id, u.user_name, u.resource->>'displayName' as display_name, ${primaryEmailSql} as email, u.active
      from user_access ua join users u on u.id = ua.user_id
     where ua.workspace_id = ${workspaceId} and ua.granted @> array[${key}]::text[] ${after}
     order by ua.user_id
     limit ${limit}`.execute(db);
  return result.rows.map((r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name, email: r.email, active: r.active }));
}

export async function countHolders(db: Executor, workspaceId: string, key: string): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from user_access ua
     where ua.workspace_id = ${workspaceId} and ua.granted @> array[${key}]::text[]`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
