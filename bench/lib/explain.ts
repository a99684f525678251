import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { createPool } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import type { ScimContext } from '../../src/services/context.js';
import * as groupsService from '../../src/services/groups.service.js';
import { memberPage } from '../../src/repositories/groups.repository.js';
import type { BenchEnvironment } from './environment.js';
import { log, ms, table } from './report.js';
import { groupPut, memberPatch } from './scim-bodies.js';
import { addAllUsers, setMembers } from './seed.js';
import { DEFAULT_WORKSPACE_SCHEMAS } from '../../src/services/scim-schemas.service.js';

// EXPLAIN ANALYZE of exactly the statements the service runs: the real service functions on a
// Kysely whose connections, before each data statement, run it once under EXPLAIN (ANALYZE,
// BUFFERS) inside a savepoint that is rolled back, then run it for real. Nothing is copied from
// the repositories, so the plans cannot drift from the code.

export interface Plan {
  sql: string;
  ms: number;
  plan: string;
}

const EXPLAINABLE = /^\s*(select|insert|update|delete|with)\b/i;

function explainingPool(url: string, plans: Plan[], analyze: boolean): { pool: PostgresPool; end(): Promise<void> } {
  const real = createPool(url, 2);
  const pool: PostgresPool = {
    async connect() {
      const client = await real.connect();
      let inTransaction = false;
      const wrapped = {
        async query(text: string, values?: unknown[]) {
          const verb = text.trim().split(/\s+/)[0]!.toLowerCase();
          if (verb === 'begin' || verb === 'start') inTransaction = true;
          if (EXPLAINABLE.test(text)) {
            await client.query(inTransaction ? 'savepoint bench_explain' : 'begin');
            try {
              const result = await client.query(`explain (${analyze ? 'analyze, buffers, ' : ''}format text) ${text}`, values);
              const lines = result.rows.map((r: Record<string, string>) => r['QUERY PLAN']!);
              const total = lines.find((l) => l.startsWith('Execution Time'));
              plans.push({ sql: text.replace(/\s+/g, ' ').trim(), ms: total ? Number(/([\d.]+) ms/.exec(total)?.[1]) : NaN, plan: lines.join('\n') });
            } finally {
              await client.query(inTransaction ? 'rollback to savepoint bench_explain' : 'rollback');
            }
          }
          const result = await client.query(text, values);
          if (verb === 'commit' || verb === 'rollback') inTransaction = false;
          return result;
        },
        release: () => client.release(),
      };
      return wrapped as unknown as PostgresPoolClient;
    },
    end: () => real.end(),
    options: real.options,
  };
  return { pool, end: () => real.end() };
}

/** A Markdown table of the statements of one use-case with their execution times, slowest first when asked. */
export function statementTable(plans: Plan[], options: { slowestFirst?: boolean; limit?: number } = {}): string {
  let rows = plans.map((p, i) => ({ p, i }));
  if (options.slowestFirst) rows = rows.sort((a, b) => b.p.ms - a.p.ms);
  if (options.limit) rows = rows.slice(0, options.limit);
  const total = plans.reduce((a, p) => a + p.ms, 0);
  return table(
    ['statement', 'execution', 'share'],
    [...rows.map(({ p }) => [`\`${shortSql(p.sql)}\``, ms(p.ms, 3), `${((100 * p.ms) / total).toFixed(0)}%`]), [`all ${plans.length} statements`, ms(total, 1), '100%']],
  );
}

/** Prints every plan of a use-case to stderr (member lists cut). */
export function printPlans(name: string, plans: Plan[]): void {
  log(`EXPLAIN — ${name}: ${plans.length} statements`);
  for (const p of plans) process.stderr.write(`\n-- ${shortSql(p.sql)}\n${readable(p.plan)}\n`);
}

function shortSql(text: string): string {
  return text.length > 110 ? `${text.slice(0, 107)}…` : text;
}

/** Runs one use-case on the explaining connection and returns the plans of its statements. */
export async function capture(env: BenchEnvironment, work: (ctx: ScimContext) => Promise<unknown>, analyze = true): Promise<Plan[]> {
  const plans: Plan[] = [];
  const { pool } = explainingPool(env.databaseUrl, plans, analyze);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const ctx: ScimContext = {
    db,
    workspaceId: env.workspaceId,
    baseUrl: `${env.baseUrl}/scim/v2`,
    audit: { workspaceId: env.workspaceId, actor: { type: 'system', id: 'bench-explain' }, requestId: 'bench-explain' },
    maxResults: 1000,
    maxInlineMembers: 1000,
    schemas: DEFAULT_WORKSPACE_SCHEMAS,
  };
  try {
    await work(ctx);
  } finally {
    await db.destroy();
  }
  return plans;
}

/** What the PATCH route does: the service call, then the response decision (and first member page). */
async function patchLikeTheRoute(ctx: ScimContext, groupId: string, body: unknown): Promise<void> {
  await groupsService.patchGroup(ctx, groupId, body);
  if (await groupsService.isSmallGroup(ctx, groupId)) await memberPage(ctx.db, groupId, undefined, 5000);
}

export interface ExplainFixture {
  users: string[];
  large: { id: string; displayName: string };
  small: { id: string; displayName: string };
  fresh: { id: string; displayName: string };
}

/** Plan text with long literal arrays (the member lists) cut, so a plan stays readable. */
function readable(plan: string): string {
  return plan.replace(/'\{[^']{200,}\}'/g, (m) => `'{${m.slice(2, 40)}… ${m.split(',').length} ids}'`);
}

/**
 * Prints (stderr) and returns as Markdown the per-statement execution times of one-member adds and
 * removes on the small and the large group and of 50,000-member PUTs, and the plan the planner
 * picks for a PUT right after a group grew (statistics stale; plan only, the statement then runs).
 */
export async function explainMembershipStatements(env: BenchEnvironment, f: ExplainFixture): Promise<string> {
  const { large, small, fresh, users } = f;
  const outsider = users[users.length - 1]!;
  const insider = users[users.length / 2]!;
  const cases: [string, Plan[]][] = [];
  for (const idp of ['entra', 'okta'] as const) {
    cases.push([`${idp} add, 10-member group`, await capture(env, (ctx) => patchLikeTheRoute(ctx, small.id, memberPatch(idp, 'add', small, outsider)))]);
    cases.push([`${idp} remove, 10-member group`, await capture(env, (ctx) => patchLikeTheRoute(ctx, small.id, memberPatch(idp, 'remove', small, outsider)))]);
    cases.push([`${idp} remove, 100,000-member group`, await capture(env, (ctx) => patchLikeTheRoute(ctx, large.id, memberPatch(idp, 'remove', large, insider)))]);
    cases.push([`${idp} add, 100,000-member group`, await capture(env, (ctx) => patchLikeTheRoute(ctx, large.id, memberPatch(idp, 'add', large, insider)))]);
  }
  const half = users.slice(0, users.length / 2);
  const otherHalf = users.slice(users.length / 2);
  await sql`vacuum analyze group_members`.execute(env.db);
  cases.push(['PUT 50,000 onto the 100,000-member group', await capture(env, (ctx) => groupsService.replaceGroup(ctx, large.id, groupPut(large, half)))]);
  await addAllUsers(env.db, env.workspaceId, large.id);
  await setMembers(env.db, env.workspaceId, fresh.id, []);
  await sql`vacuum analyze group_members`.execute(env.db);
  cases.push(['PUT 50,000 onto an empty group', await capture(env, (ctx) => groupsService.replaceGroup(ctx, fresh.id, groupPut(fresh, otherHalf)))]);
  // The same group, grown to 50,000 members since the last ANALYZE.
  await setMembers(env.db, env.workspaceId, fresh.id, []);
  await sql`vacuum analyze group_members`.execute(env.db);
  await setMembers(env.db, env.workspaceId, fresh.id, otherHalf);
  cases.push([
    'stale statistics: PUT 1,000 onto a group that just grew to 50,000 (plans only)',
    await capture(env, (ctx) => groupsService.replaceGroup(ctx, fresh.id, groupPut(fresh, otherHalf.slice(0, 1000))), false),
  ]);
  await setMembers(env.db, env.workspaceId, fresh.id, []);
  await setMembers(env.db, env.workspaceId, small.id, users.slice(0, 10));
  await sql`vacuum analyze group_members`.execute(env.db);

  const out: string[] = [];
  for (const [name, plans] of cases) {
    const analyzed = plans.every((p) => Number.isFinite(p.ms));
    log(`EXPLAIN${analyzed ? ' ANALYZE' : ''} — ${name}: ${plans.length} statements${analyzed ? `, ${ms(plans.reduce((a, p) => a + p.ms, 0))} of execution` : ''}`);
    for (const p of plans) process.stderr.write(`\n-- ${shortSql(p.sql)}\n${readable(p.plan)}\n`);
    out.push(`#### ${name}`, '');
    if (analyzed) out.push(table(['statement', 'execution'], plans.map((p) => [`\`${shortSql(p.sql)}\``, ms(p.ms, 3)])), '');
    else {
      const slow = plans.filter((p) => /group_members/.test(p.sql) && /^delete/i.test(p.sql));
      for (const p of slow) out.push('```', shortSql(p.sql), readable(p.plan), '```', '');
    }
  }
  return out.join('\n');
}
