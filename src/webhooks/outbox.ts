import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { uuidArray } from '../repositories/ids.js';

// The webhook outbox: one delivery per (enabled endpoint, audit event it subscribes to), written
// by the commit step in the change's own transaction. A change that commits has its deliveries;
// one that rolls back has none. The worker (worker.ts) sends them.

/**
 * Queues the deliveries of these just-appended events. One statement whatever their number; with
 * no endpoint in the workspace it reads one empty index range. An endpoint subscribes with exact
 * types, `<prefix>.*` or `*` (webhooks.service.ts checks them).
 */
export async function enqueueWebhookDeliveries(trx: Transaction<Database>, workspaceId: string, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await sql`
    insert into webhook_deliveries (endpoint_id, event_id, event_seq)
    select ep.id, e.id, e.seq
    from webhook_endpoints ep
    join audit_events e on e.id = any(${uuidArray(eventIds)})
    where ep.workspace_id = ${workspaceId} and ep.enabled
      and (e.event_type = any(ep.event_types) or split_part(e.event_type, '.', 1) || '.*' = any(ep.event_types) or '*' = any(ep.event_types))
    on conflict (endpoint_id, event_id) do nothing`.execute(trx);
}
