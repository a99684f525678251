import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { PG_TYPES } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { parseListQuery } from '../../src/scim/list-query.js';
import { GROUP_SCHEMA } from '../../src/scim/schemas/index.js';
import { decide } from '../../src/services/decisions.service.js';
import * as groups from '../../src/services/groups.service.js';
import { DEFAULT_WORKSPACE_SCHEMAS } from '../../src/services/scim-schemas.service.js';
import * as users from '../../src/services/users.service.js';
import { createTestDb, testDialect } from '../helpers/db.js';
import { fromRoot } from '../helpers/paths.js';

t.snapshotFile = fromRoot('tap-snapshots/test/repositories/read-plans.test.ts.test.cjs');

// The plans PostgreSQL picks for the hot reads, kept as snapshots so that a plan regression (an
// index no longer used, a scan of every user) shows in review. Exactly the statements the
// services run, each EXPLAINed (costs off) on its connection before it runs, over 20,000 users
// with fresh statistics. Refresh with `TAP_SNAPSHOT=1 node .tmp/build/test/repositories/read-plans.test.js`
// under TEST_DB=postgres.

const USERS = 20_000;
const skip = testDialect === 'postgres' ? false : "PostgreSQL's plans (PGlite's planner is another version)";

/** Plan text without what differs from run to run: ids, timestamps, numbers in literals. */
const stable = (plan: string) =>
  plan
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/'\d{4}-\d\d-\d\d[^']*'/g, "'<time>'")
    .replace(/bench\.user\.\d+@example\.com/g, '<userName>');

/** A Kysely whose one connection EXPLAINs every SELECT before running it, collecting the plans. */
function explaining(url: string, plans: string[]): { db: Kysely<Database>; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 1, types: PG_TYPES });
  const dialect = new PostgresDialect({
    pool: {
      connect: async () => {
        const client = await pool.connect();
        const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<pg.QueryResult>;
        return Object.assign(Object.create(client) as pg.PoolClient, {
          query: async (text: string, values?: unknown[]) => {
            if (/^\s*(select|with)\b/i.test(text)) {
              const explained = await query(`explain (costs off) ${text}`, values);
              plans.push(stable(explained.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')));
            }
            return query(text, values);
          },
          release: () => client.release(),
        });
      },
      end: () => pool.end(),
    } as unknown as PostgresPool,
  });
  const db = new Kysely<Database>({ dialect });
  return { db, close: () => db.destroy() };
}

t.test('hot read plans', { skip }, async (t) => {
  const { db, workspaceId, databaseUrl } = await createTestDb(t);
  await sql`
    insert into users (id, workspace_id, user_name, external_id, active, resource)
    select gen_random_uuid(), ${workspaceId}::uuid, 'bench.user.' || i || '@example.com', 'ext-' || i, true,
           jsonb_build_object('userName', 'bench.user.' || i || '@example.com', 'displayName', 'User ' || i,
                              'emails', jsonb_build_array(jsonb_build_object('value', 'bench.user.' || i || '@example.com', 'primary', true)))
      from generate_series(1, ${USERS}) as i`.execute(db);

  const plans: string[] = [];
  const explainer = explaining(databaseUrl!, plans);
  t.teardown(() => explainer.close());
  const seeding = {
    db,
    workspaceId,
    baseUrl: 'https://bridge.example.com/scim/v2',
    audit: { workspaceId, actor: { type: 'system' as const, id: 'test' }, requestId: 'plans' },
    maxResults: 1000,
    maxInlineMembers: 1000,
    schemas: DEFAULT_WORKSPACE_SCHEMAS,
  };
  const group = (await groups.createGroup(seeding, { schemas: [GROUP_SCHEMA], displayName: 'codex-local-users' })).id;
  await sql`insert into group_members (group_id, user_id, workspace_id) select ${group}::uuid, id, workspace_id from users where workspace_id = ${workspaceId} order by user_name limit 1000`.execute(db);
  await sql`analyze`.execute(db);
  const someone = (await db.selectFrom('users').select('id').where('user_name', '=', 'bench.user.7@example.com').executeTakeFirstOrThrow()).id;
  const ctx = { ...seeding, db: explainer.db };
  // Look-ups of one user must never scan the users; the page of 100 counts every user of the
  // workspace, which here is the whole table, so PostgreSQL rightly scans it.
  const cases: Array<[string, boolean, () => Promise<unknown>]> = [
    ['GET /Users/{id}', true, () => users.getUser(ctx, someone)],
    ['GET /Users?filter=userName eq', true, () => users.listUsers(ctx, parseListQuery({ filter: 'userName eq "bench.user.7@example.com"' }, 1000))],
    ['GET /Users?count=100', false, () => users.listUsers(ctx, parseListQuery({ count: '100' }, 1000))],
    ['GET /Groups/{id}', true, () => groups.getGroup(ctx, group)],
    ['POST /api/v1/decisions, one user', true, () => decide(explainer.db, workspaceId, { users: [someone] })],
  ];
  for (const [name, lookup, read] of cases) {
    plans.length = 0;
    await read();
    t.ok(plans.length > 0, `${name}: its statements were explained`);
    if (lookup) t.notMatch(plans.join('\n'), /Seq Scan on users\b/, `${name}: no scan of every user`);
    t.matchSnapshot(plans.join('\n\n'), name);
  }
});
