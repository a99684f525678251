import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { invalid } from './admin-errors.js';

// Provisioning health: per SCIM client, requests per hour by outcome and the last
// failing requests, bodies redacted. Each instance counts in memory and adds its counts to the
// tables every FLUSH_MS in one transaction, so a SCIM request costs a map update, not a write;
// a reader flushes its own instance first. What a crash loses is at most the last few seconds of
// counts: operational figures, not the audit trail.

/** A SCIM response as the recorder sees it. */
export interface ScimOutcome {
  workspaceId: string;
  tokenId: string;
  status: number;
  scimType?: string;
  detail?: string;
  method: string;
  path: string;
  body?: unknown;
}

interface Failure extends ScimOutcome {
  at: Date;
}

/** Failures kept per workspace: the newest, enough to see what a client keeps getting wrong. */
export const FAILURES_KEPT = 200;
const FAILURES_PER_FLUSH = 50;
const HOUR_MS = 3_600_000;

/** ok, rate_limited, a SCIM error type (invalidValue, uniqueness, …) or the status (404, 412, 500, …). */
export function outcomeOf(status: number, scimType?: string): string {
  if (status < 400) return 'ok';
  if (status === 429) return 'rate_limited';
  return scimType ?? String(status);
}

/**
 * What a failing request sent, with every value that could be personal data or a secret
 * replaced: the shape (attribute names, SCIM operations and paths, schemas) stays readable.
 */
export function redactBody(body: unknown, key = ''): unknown {
  if (Array.isArray(body)) return body.slice(0, 20).map((item) => redactBody(item, key));
  if (body !== null && typeof body === 'object') return Object.fromEntries(Object.entries(body).slice(0, 50).map(([k, v]) => [k, redactBody(v, k)]));
  if (typeof body === 'string') return KEPT_VALUES.has(key) ? body.slice(0, 200) : '<redacted>';
  return typeof body === 'boolean' || body === null ? body : '<redacted>';
}
const KEPT_VALUES = new Set(['schemas', 'op', 'path']);

export class ProvisioningRecorder {
  private counts = new Map<string, { workspaceId: string; tokenId: string; hour: number; outcome: string; requests: number }>();
  private failures: Failure[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  record(outcome: ScimOutcome): void {
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const kind = outcomeOf(outcome.status, outcome.scimType);
    const key = `${outcome.workspaceId} ${outcome.tokenId} ${hour} ${kind}`;
    const entry = this.counts.get(key);
    if (entry) entry.requests++;
    else this.counts.set(key, { workspaceId: outcome.workspaceId, tokenId: outcome.tokenId, hour, outcome: kind, requests: 1 });
    if (kind !== 'ok' && this.failures.length < FAILURES_PER_FLUSH) this.failures.push({ ...outcome, body: outcome.body === undefined ? undefined : redactBody(outcome.body), at: new Date() });
  }

  /** Adds what was counted since the last flush to the tables; flushes run one after the other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write(), () => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const counts = [...this.counts.values()];
    const failures = this.failures;
    if (counts.length === 0 && failures.length === 0) return;
    this.counts = new Map();
    this.failures = [];
    await this.db.transaction().execute(async (trx) => {
      if (counts.length > 0) {
        await sql`
          insert into scim_request_stats (workspace_id, token_id, hour, outcome, requests)
          select * from unnest(${counts.map((c) => c.workspaceId)}::uuid[], ${counts.map((c) => c.tokenId)}::text[],
                               ${counts.map((c) => new Date(c.hour).toISOString())}::timestamptz[], ${counts.map((c) => c.outcome)}::text[], ${counts.map((c) => c.requests)}::bigint[])
          on conflict (workspace_id, hour, token_id, outcome) do update set requests = scim_request_stats.requests + excluded.requests`.execute(trx);
      }
      if (failures.length > 0) {
        await trx
          .insertInto('scim_request_failures')
          .values(failures.map((f) => ({ id: randomUUID(), workspace_id: f.workspaceId, token_id: f.tokenId, occurred_at: f.at, method: f.method, path: f.path.slice(0, 500), status: f.status, scim_type: f.scimType ?? null, detail: (f.detail ?? '').slice(0, 1000), body: f.body === undefined ? null : JSON.stringify(f.body) })))
          .execute();
      }
      for (const workspaceId of new Set(failures.map((f) => f.workspaceId))) {
        await sql`delete from scim_request_failures where workspace_id = ${workspaceId} and id not in (
          select id from scim_request_failures where workspace_id = ${workspaceId} order by occurred_at desc limit ${FAILURES_KEPT})`.execute(trx);
      }
    });
  }
}

export interface ProvisioningHealth {
  hours: number;
  tokens: Array<{
    tokenId: string;
    description: string | null;
    requests: number;
    /** Requests per hour, oldest first, every hour of the window. */
    perHour: Array<{ hour: string; ok: number; failed: number; rateLimited: number }>;
  }>;
  /** Failed requests by outcome over the window. */
  errors: Array<{ outcome: string; requests: number }>;
  rateLimited: number;
  recentFailures: Array<{ at: string; tokenId: string; method: string; path: string; status: number; scimType: string | null; detail: string; body: unknown }>;
}

export async function provisioningHealth(db: Db, workspaceId: string, hours: number): Promise<ProvisioningHealth> {
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 31) throw invalid('hours', 'hours must be a whole number from 1 to 744');
  const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const start = end - (hours - 1) * HOUR_MS;
  const [stats, failures] = await Promise.all([
    sql<{ token_id: string; description: string | null; hour: Date; outcome: string; requests: number }>`
      select s.token_id, t.description, s.hour, s.outcome, s.requests::int as requests
      from scim_request_stats s left join api_tokens t on t.id::text = s.token_id
      where s.workspace_id = ${workspaceId} and s.hour >= ${new Date(start)} order by s.hour`.execute(db),
    db
      .selectFrom('scim_request_failures')
      .select(['occurred_at', 'token_id', 'method', 'path', 'status', 'scim_type', 'detail', 'body'])
      .where('workspace_id', '=', workspaceId)
      .orderBy('occurred_at', 'desc')
      .limit(20)
      .execute(),
  ]);
  const tokens = new Map<string, ProvisioningHealth['tokens'][number]>();
  const errors = new Map<string, number>();
  let rateLimited = 0;
  for (const row of stats.rows) {
    let token = tokens.get(row.token_id);
    if (!token) {
      const perHour = Array.from({ length: hours }, (_, i) => ({ hour: new Date(start + i * HOUR_MS).toISOString(), ok: 0, failed: 0, rateLimited: 0 }));
      tokens.set(row.token_id, (token = { tokenId: row.token_id, description: row.description, requests: 0, perHour }));
    }
    const slot = token.perHour[Math.round((new Date(row.hour).getTime() - start) / HOUR_MS)];
    const n = Number(row.requests);
    token.requests += n;
    if (row.outcome === 'ok') {
      if (slot) slot.ok += n;
    }
    else if (row.outcome === 'rate_limited') {
      if (slot) slot.rateLimited += n;
      rateLimited += n;
    } else {
      if (slot) slot.failed += n;
      errors.set(row.outcome, (errors.get(row.outcome) ?? 0) + n);
    }
  }
  return {
    hours,
    tokens: [...tokens.values()].sort((a, b) => b.requests - a.requests),
    errors: [...errors].map(([outcome, requests]) => ({ outcome, requests })).sort((a, b) => b.requests - a.requests),
    rateLimited,
    recentFailures: failures.map((f) => ({ at: new Date(f.occurred_at).toISOString(), tokenId: f.token_id, method: f.method, path: f.path, status: f.status, scimType: f.scim_type, detail: f.detail, body: f.body ?? null })),
  };
}
