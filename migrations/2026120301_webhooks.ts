import { sql, type Kysely } from 'kysely';

// Signed change webhooks (Standard Webhooks). An endpoint subscribes to event types; the commit
// step writes one delivery per (endpoint, audit event) in the change's own transaction, so a
// committed change always has its deliveries; workers in every instance send them in the audit
// log's order (seq, which the sealer makes commit order) and keep a log of every attempt.

export async function up(db: Kysely<any>): Promise<void> {
  // Endpoints are audited as their own target type.
  await sql`alter table audit_events drop constraint audit_events_target_type_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_target_type_check
    check (target_type in ('user', 'group', 'role', 'permission', 'mapping', 'workspace', 'token', 'policy', 'webhook')) not valid`.execute(db);
  await sql`alter table audit_events validate constraint audit_events_target_type_check`.execute(db);

  await sql`
    create table webhook_endpoints (
      id uuid primary key,
      workspace_id uuid not null references workspaces (id) on delete cascade,
      url text not null,
      description text,
      event_types text[] not null check (cardinality(event_types) > 0),
      enabled boolean not null default true,
      -- The HMAC key must be readable to sign; it is never returned after creation, logged or audited.
      secret text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      disabled_reason text,
      -- Delivery state. Deliveries of an endpoint go out one at a time in order, so the retry
      -- schedule is the endpoint's: the head delivery blocks the ones after it.
      next_attempt_at timestamptz not null default now(),
      failing_since timestamptz,
      -- A worker's claim: another instance takes the endpoint over once it has lapsed.
      lease_owner text,
      lease_until timestamptz
    )`.execute(db);
  await sql`create index webhook_endpoints_workspace_idx on webhook_endpoints (workspace_id) where enabled`.execute(db);

  await sql`
    create table webhook_deliveries (
      id uuid primary key default gen_random_uuid(),
      endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
      -- A purged audit event takes its deliveries with it.
      event_id uuid not null references audit_events (id) on delete cascade,
      event_seq bigint not null,
      status text not null default 'pending' check (status in ('pending', 'delivered')),
      attempts integer not null default 0,
      -- Bumped by a redelivery or replay request: an answer to an attempt sent before it does not
      -- mark the delivery delivered, so the request is never lost to a send already in flight.
      generation integer not null default 0,
      created_at timestamptz not null default now(),
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      unique (endpoint_id, event_id)
    )`.execute(db);
  // What a worker reads: the pending deliveries of an endpoint, in seq order.
  await sql`create index webhook_deliveries_pending_idx on webhook_deliveries (endpoint_id, event_seq) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_log_idx on webhook_deliveries (endpoint_id, event_seq desc)`.execute(db);
  await sql`create index webhook_deliveries_event_idx on webhook_deliveries (event_id)`.execute(db);

  await sql`
    create table webhook_attempts (
      id bigint generated always as identity primary key,
      delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
      attempted_at timestamptz not null default now(),
      status_code integer,
      latency_ms integer not null,
      error text,
      -- The first bytes of the answer only: a receiver's response is not ours to keep.
      response_excerpt text
    )`.execute(db);
  await sql`create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Audit events about endpoints stay: the log is append-only, and so is its target type.
  await sql`drop table if exists webhook_attempts, webhook_deliveries, webhook_endpoints`.execute(db);
}
