import { sql, type RawBuilder } from 'kysely';

// The webhook outbox: one delivery per (enabled endpoint, audit event it subscribes to), written
// in the statement that appends the event (src/repositories/audit.repository.ts), so whatever
// appends an event — a change, a projector's derived access.changed — queues its deliveries with
// it, in its transaction, at no extra round trip. The worker (worker.ts) sends them.

/** Whether an endpoint's `event_types` (exact types, `<prefix>.*` or `*`) cover an event type. */
export function subscribes(eventTypes: RawBuilder<unknown>, eventType: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`(${eventType} = any(${eventTypes}) or split_part(${eventType}, '.', 1) || '.*' = any(${eventTypes}) or '*' = any(${eventTypes}))`;
}

/**
 * Wraps an INSERT INTO audit_events … RETURNING id, seq, event_type: the deliveries of the rows
 * it inserts, for the workspace's enabled endpoints. With none, one empty index range is read.
 */
export function withWebhookDeliveries(workspaceId: string, insertEvents: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    with appended as (${insertEvents})
    insert into webhook_deliveries (endpoint_id, event_id, event_seq)
    select ep.id, a.id, a.seq from appended a
    join webhook_endpoints ep on ep.workspace_id = ${workspaceId}::uuid and ep.enabled and ${subscribes(sql.ref('ep.event_types'), sql.ref('a.event_type'))}`;
}
