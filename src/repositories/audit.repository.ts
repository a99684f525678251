import { sql, type Transaction } from 'kysely';
import { newAuditEventId } from '../audit/ids.js';
import { canonicalAuditData, fixString } from '../audit/redact.js';
import {
  AUDIT_ACTOR_TYPES,
  AUDIT_TARGET_TYPES,
  type AuditActor,
  type AuditContext,
  type AuditEvent,
  type NewAuditEvent,
} from '../audit/types.js';
import type { Executor } from '../db/index.js';
import type { AuditEventRow, Database } from '../db/types.js';
import { withWebhookDeliveries } from '../webhooks/outbox.js';

// Rows per INSERT … SELECT FROM ROWS FROM(…): one round trip and a dozen parameters per chunk, so
// a 100,000-event call costs 20 statements, not 100,000. Large enough to amortise the round trip,
// small enough that one statement's parameters stay around a megabyte.
const INSERT_CHUNK = 5_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_TYPE = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

export class AuditEventError extends Error {
  override name = 'AuditEventError';
}

function checkContext(ctx: AuditContext): void {
  if (!ctx || !UUID.test(ctx.workspaceId ?? '')) throw new AuditEventError('audit context needs a workspaceId (uuid)');
  const actor = ctx.actor as AuditActor | undefined;
  if (!actor || !AUDIT_ACTOR_TYPES.includes(actor.type)) throw new AuditEventError(`audit actor type must be one of ${AUDIT_ACTOR_TYPES.join(', ')}`);
  if (typeof actor.id !== 'string' || actor.id.length === 0) throw new AuditEventError('audit actor needs an id');
  // The actor id names a token, never carries one: refuse what looks like a credential.
  if (/^(bearer|basic)\s/i.test(actor.id) || actor.id.length > 256) throw new AuditEventError('audit actor id must identify the actor, not carry a credential');
}

function checkEvent(e: NewAuditEvent, index: number): void {
  const where = `audit event #${index}`;
  if (typeof e.type !== 'string' || !EVENT_TYPE.test(e.type)) throw new AuditEventError(`${where}: type must look like 'group.member_added'`);
  if (!AUDIT_TARGET_TYPES.includes(e.targetType)) throw new AuditEventError(`${where}: unknown targetType ${String(e.targetType)}`);
  if (typeof e.targetId !== 'string' || e.targetId.length === 0) throw new AuditEventError(`${where}: targetId is required`);
  if (e.id !== undefined && !UUID.test(e.id)) throw new AuditEventError(`${where}: id must be a uuid`);
  if (e.causeId !== undefined && e.causeId !== null && !UUID.test(e.causeId)) throw new AuditEventError(`${where}: causeId must be a uuid`);
}

/** Column values of one chunk, in the order of the ROWS FROM below. */
export interface Chunk {
  ids: string[];
  types: string[];
  targetTypes: string[];
  targetIds: string[];
  data: string[];
  causeIds: string[];
}

/**
 * Inserts events inside the caller's transaction: they commit or roll back with the change.
 * Returns the event ids in order (pre-assigned ids are kept).
 *
 * Nothing is locked: seq comes from a sequence, and the sealer hashes the events into the
 * workspace's Merkle log after they commit. Callers insert after taking the row locks of what
 * they change (the services lock a group or user first), so two changes of one group or user
 * get their seqs in commit order. All events of one call share occurred_at, the moment of the change.
 */
export async function appendAuditEvents(trx: Transaction<Database>, ctx: AuditContext, events: NewAuditEvent[]): Promise<string[]> {
  if (!trx.isTransaction) throw new AuditEventError('appendAuditEvents must run in the transaction that makes the change');
  if (events.length === 0) return [];
  checkContext(ctx);
  events.forEach(checkEvent);

  const workspaceId = ctx.workspaceId.toLowerCase();
  const occurredAt = new Date(); // milliseconds: the precision that is stored and hashed
  const actor: AuditActor = { type: ctx.actor.type, id: fixString(ctx.actor.id) };
  if (ctx.actor.display !== undefined && ctx.actor.display !== null) actor.display = fixString(ctx.actor.display);
  const requestId = ctx.requestId === undefined || ctx.requestId === null ? null : fixString(ctx.requestId);

  const ids = new Array<string>(events.length);
  let pending: Promise<unknown> | undefined;
  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    const end = Math.min(start + INSERT_CHUNK, events.length);
    const chunk: Chunk = { ids: [], types: [], targetTypes: [], targetIds: [], data: [], causeIds: [] };
    for (let i = start; i < end; i++) {
      const e = events[i]!;
      // Uuids lower-cased: PostgreSQL gives them back that way, and the sealer hashes what it reads.
      const id = e.id === undefined ? newAuditEventId() : e.id.toLowerCase();
      ids[i] = id;
      chunk.ids.push(id);
      chunk.types.push(e.type);
      chunk.targetTypes.push(e.targetType);
      chunk.targetIds.push(fixString(e.targetId));
      chunk.data.push(canonicalAuditData(e.data));
      chunk.causeIds.push(e.causeId === undefined || e.causeId === null ? '' : e.causeId.toLowerCase());
    }
    // The next chunk is built while this one is in flight (PostgreSQL works in its own process).
    await pending;
    pending = insertEventsStatement(workspaceId, occurredAt, actor, requestId, chunk).execute(trx);
  }
  await pending;
  return ids;
}

/**
 * One INSERT for the whole chunk. Columns whose values cannot contain a comma (uuids, validated
 * event and target types) travel as one comma-joined string each, split by string_to_array;
 * target ids and data travel as one JSON array each. Against pg's array literals (every element
 * quoted and escaped) this halves the client's work. ROWS FROM zips the lists, and seq is drawn
 * row by row in their order; '' in cause ids is NULL.
 * seq and xid are the columns' defaults: audit_next_seq() gives the transaction an id before it
 * draws a seq (migrations/2026120201_audit_merkle_log.ts). The same statement queues the events'
 * webhook deliveries (src/webhooks/outbox.ts).
 */
export function insertEventsStatement(workspaceId: string, occurredAt: Date, actor: AuditActor, requestId: string | null, c: Chunk) {
  return withWebhookDeliveries(
    workspaceId,
    sql`
    insert into audit_events
      (id, workspace_id, occurred_at, actor_type, actor_id, actor_display, request_id,
       event_type, target_type, target_id, data, cause_id)
    select e.id, ${workspaceId}::uuid, ${occurredAt.toISOString()}::timestamptz, ${actor.type}, ${actor.id},
           ${actor.display ?? null}::text, ${requestId}::text,
           e.event_type, e.target_type, e.target_id, e.data, e.cause_id
    from rows from (
      unnest(string_to_array(${c.ids.join(',')}::text, ',')::uuid[]),
      unnest(string_to_array(${c.types.join(',')}::text, ',')),
      unnest(string_to_array(${c.targetTypes.join(',')}::text, ',')),
      jsonb_array_elements_text(${JSON.stringify(c.targetIds)}::jsonb),
      jsonb_array_elements(${`[${c.data.join(',')}]`}::jsonb),
      unnest(string_to_array(${c.causeIds.join(',')}::text, ',', '')::uuid[])
    ) with ordinality as e(id, event_type, target_type, target_id, data, cause_id, n)
    order by e.n
    returning id, seq, event_type`,
  );
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  const actor: AuditActor = { type: row.actor_type, id: row.actor_id };
  if (row.actor_display !== null) actor.display = row.actor_display;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    seq: Number(row.seq),
    occurredAt: new Date(row.occurred_at),
    actor,
    requestId: row.request_id,
    type: row.event_type,
    targetType: row.target_type,
    targetId: row.target_id,
    data: row.data,
    causeId: row.cause_id,
    prevHash: row.prev_hash,
    hash: row.hash,
    leafIndex: row.leaf_index === null ? null : Number(row.leaf_index),
  };
}

/** Sealed events with afterLeaf < leaf_index < beforeLeaf, in leaf order: keyset pages over (workspace_id, leaf_index). */
export async function listSealedEvents(db: Executor, workspaceId: string, afterLeaf: number, beforeLeaf: number, limit: number): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('leaf_index', '>', afterLeaf)
    .where('leaf_index', '<', beforeLeaf)
    .orderBy('leaf_index')
    .limit(limit)
    .execute();
  return rows.map(toAuditEvent);
}

export { newAuditEventId };
