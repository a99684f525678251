import { sql, type Kysely } from 'kysely';

// Provisioning health: what each SCIM client's requests came to, per hour and outcome
// (ok, an error type, rate-limited), and the last failing requests with their bodies redacted.
// Operational records, not audited changes: each instance counts in memory and adds its counts
// here every few seconds (src/services/provisioning-health.service.ts), so the SCIM hot path
// writes nothing more.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table scim_request_stats (
      workspace_id uuid not null references workspaces (id) on delete cascade,
      token_id text not null,
      hour timestamptz not null,
      outcome text not null,
      requests bigint not null,
      primary key (workspace_id, hour, token_id, outcome)
    )`.execute(db);
  await sql`
    create table scim_request_failures (
      id uuid primary key,
      workspace_id uuid not null references workspaces (id) on delete cascade,
      token_id text not null,
      occurred_at timestamptz not null,
      method text not null,
      path text not null,
      status integer not null,
      scim_type text,
      detail text not null,
      body jsonb
    )`.execute(db);
  await sql`create index scim_request_failures_recent_idx on scim_request_failures (workspace_id, occurred_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists scim_request_failures`.execute(db);
  await sql`drop table if exists scim_request_stats`.execute(db);
}
