import { sql, type Transaction } from 'kysely';
import type { Database, Db } from '../../src/db/index.js';
import type { BenchClient } from './http.js';

// Set-based seeding: one INSERT … SELECT FROM generate_series per table, so 100,000 users and
// 100,000 memberships take seconds. Rows have the shape the service stores (see
// src/services/user-resource.ts: the resource document plus its indexed columns). Seeding is not
// audited: the benchmark measures the requests that follow, and they are.

/**
 * Runs a bulk load with foreign-key triggers off (session_replication_role = replica, for this
 * transaction only). The rows reference what exists by construction; the per-row FK checks would
 * otherwise double the load time (about 40 µs per row and constraint on this machine).
 */
async function bulk<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    return work(trx);
  });
}

/** Inserts users 1..count and returns their ids in that order. */
export async function seedUsers(db: Db, workspaceId: string, count: number): Promise<string[]> {
  await bulk(db, (trx) => sql`
    insert into users (id, workspace_id, user_name, external_id, active, resource)
    select gen_random_uuid(), ${workspaceId}::uuid, u.user_name, u.external_id, true,
           jsonb_build_object(
             'userName', u.user_name,
             'externalId', u.external_id,
             'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'User ' || u.i),
             'displayName', 'Bench User ' || u.i,
             'emails', jsonb_build_array(jsonb_build_object('value', u.user_name, 'type', 'work', 'primary', true)),
             'active', true)
    from (
      select i, 'bench.user.' || i || '@example.com' as user_name, 'bench-' || lpad(i::text, 7, '0') as external_id
      from generate_series(1, ${count}::int) as i
    ) as u`.execute(trx));
  const rows = await sql<{ id: string }>`
    select id from users where workspace_id = ${workspaceId} and external_id like 'bench-%' order by external_id`.execute(db);
  return rows.rows.map((r) => r.id);
}

/** Creates a group through the API (so it is stored and audited as an IdP would create it). */
export async function createGroup(client: BenchClient, displayName: string): Promise<string> {
  const body = await client.json<{ id: string }>('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: [] }, [201]);
  return body.id;
}

/** Makes the group's members exactly the given users: delete all, insert the list. */
export async function setMembers(db: Db, workspaceId: string, groupId: string, userIds: readonly string[]): Promise<void> {
  const ids = `{${userIds.join(',')}}`;
  await bulk(db, async (trx) => {
    await sql`delete from group_members where group_id = ${groupId}`.execute(trx);
    await sql`
      insert into group_members (group_id, user_id, workspace_id)
      select ${groupId}::uuid, x.id, ${workspaceId}::uuid from unnest(${ids}::uuid[]) as x(id)`.execute(trx);
  });
}

/** Adds every user of the workspace to the group in one statement. */
export async function addAllUsers(db: Db, workspaceId: string, groupId: string): Promise<number> {
  const result = await bulk(db, (trx) => sql`
    insert into group_members (group_id, user_id, workspace_id)
    select ${groupId}::uuid, u.id, u.workspace_id from users u where u.workspace_id = ${workspaceId}
    on conflict do nothing`.execute(trx));
  return Number(result.numAffectedRows ?? 0);
}

export async function memberCount(db: Db, groupId: string): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from group_members where group_id = ${groupId}`.execute(db);
  return Number(result.rows[0]!.n);
}

/** Fresh planner statistics and visibility map after bulk loads, as autovacuum would give a live system. */
export async function analyze(db: Db): Promise<void> {
  await sql`vacuum analyze`.execute(db);
}
