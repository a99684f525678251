// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import type { Kysely } from 'kysely';
import t from 'tap';
import type { Database } from '../../src/db/types.js';
import { insertEventsStatement } from '../../src/repositories/audit.repository.js';
import { recomputeAccessStatement, scopeIdsSql } from '../../src/repositories/effective-access.repository.js';
import { recomputeUserPoliciesStatement, scopeSql } from '../../src/repositories/policies.repository.js';
import { sqlCompiler } from '../helpers/sql-compiler.js';
import { fromRoot } from '../helpers/paths.js';

// The snapshots of the source file, whether it runs compiled or not.
t.snapshotFile = fromRoot('tap-snapshots/test/repositories/statements-sql.test.ts.test.cjs');

// The hottest statements, as compiled, under review like the filter compiler's: the effective-
// access and effective-policy recomputes every write runs, and the audit insert. A change to any
// of them shows up as a snapshot diff (refresh with `TAP_SNAPSHOT=1 npx tap FILE`).


const WS = '00000000-0000-4000-8000-00000000000a';
const U1 = '00000000-0000-4000-8000-0000000000b1';
const G1 = '00000000-0000-4000-8000-0000000000c1';
const R1 = '00000000-0000-4000-8000-0000000000d1';

const compiled = (query: { compile(db: Kysely<Database>): { sql: string; parameters: readonly unknown[] } }) => {
  const { sql, parameters } = query.compile(sqlCompiler);
  return { sql: sql.replace(/\s+/g, ' ').trim(), parameters };
};

t.test('effective-access recompute', async (t) => {
  for (const [name, scope] of [
    ['users', { userIds: [U1] }],
    ['users, groups and roles', { userIds: [U1], groupIds: [G1], roleIds: [R1] }],
    ['workspace', 'workspace'],
  ] as const) {
    t.matchSnapshot(compiled(recomputeAccessStatement(WS, scopeIdsSql(WS, scope)!)), name);
  }
});

t.test('effective-policy recompute', async (t) => {
  for (const [name, scope] of [
    ['users', { userIds: [U1] }],
    ['policy', { policyId: R1 }],
    ['workspace', 'workspace'],
  ] as const) {
    t.matchSnapshot(compiled(recomputeUserPoliciesStatement(WS, scopeSql(WS, scope)!)), name);
  }
});

t.test('audit insert', async (t) => {
  const chunk = {
    ids: ['00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002'],
    types: ['group.member_added', 'access.changed'],
    targetTypes: ['group', 'user'],
    targetIds: [G1, U1],
    data: ['{"userId":"' + U1 + '"}', '{"after":["codex_local"],"before":[]}'],
    causeIds: ['', '00000000-0000-7000-8000-000000000001'],
  };
  t.matchSnapshot(compiled(insertEventsStatement(WS, new Date('2026-12-01T00:00:00Z'), { type: 'scim', id: 'token-1' }, 'req-1', chunk)), 'two events in one insert');
});
