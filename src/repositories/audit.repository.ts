import { sql, type Transaction } from 'kysely';
import { eventHasher, GENESIS_HASH } from '../audit/hash-chain.js';
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
import type { AuditChainHeadRow, AuditEventRow, Database } from '../db/types.js';

// Rows per INSERT … SELECT FROM ROWS FROM(…): one round trip and a dozen parameters per chunk, so
// a 100,000-event call costs 20 statements, not 100,000. Large enough to amortise the round trip,
// small enough that one statement's parameters stay around a megabyte.
const INSERT_CHUNK = 5_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_TYPE = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

export class AuditEventError extends Error {
  override name = 'AuditEventError';
}

export interface ChainHead {
  seq: number;
  hash: string;
  occurredAt: Date | null;
  anchorSeq: number;
  anchorHash: string;
}

function toChainHead(row: AuditChainHeadRow): ChainHead {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    occurredAt: row.occurred_at ? new Date(row.occurred_at) : null,
    anchorSeq: Number(row.anchor_seq),
    anchorHash: row.anchor_hash,
  };
}

/**
 * Locks the workspace's chain head for the rest of the transaction, creating it on first use.
 * Every appender of a workspace, in any service instance, queues here: that is what keeps seq
 * gapless and the chain unforked. Held until commit, so it also serialises whatever a transaction
 * does after its first append (the effective-access recomputation relies on that). To stay free
 * of deadlocks, a transaction must not, after appending, wait for a row lock that another
 * transaction may hold while it waits for this one: lock your own rows first, append after.
 */
async function lockChainHead(trx: Transaction<Database>, workspaceId: string): Promise<ChainHead> {
  const select = () =>
    trx.selectFrom('audit_chain_heads').selectAll().where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirst();
  let row = await select();
  if (!row) {
    // Two first appenders both insert; the loser waits for the winner's commit and does nothing.
    await trx.insertInto('audit_chain_heads').values({ workspace_id: workspaceId }).onConflict((oc) => oc.column('workspace_id').doNothing()).execute();
    row = await select();
    if (!row) throw new Error(`audit chain head of workspace ${workspaceId} could not be created`);
  }
  return toChainHead(row);
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
  seqs: number[];
  types: string[];
  targetTypes: string[];
  targetIds: string[];
  data: string[];
  causeIds: string[];
  prevHashes: string[];
  hashes: string[];
}

/**
 * Appends events to the workspace's hash chain, inside the caller's transaction: they commit or
 * roll back with the change. Returns the event ids in order (pre-assigned ids are kept).
 *
 * All events of one call share occurred_at (the moment of the change), taken after the head is
 * locked and never earlier than the previous event, so occurred_at is monotonic in seq.
 */
export async function appendAuditEvents(trx: Transaction<Database>, ctx: AuditContext, events: NewAuditEvent[]): Promise<string[]> {
  if (!trx.isTransaction) throw new AuditEventError('appendAuditEvents must run in the transaction that makes the change');
  if (events.length === 0) return [];
  checkContext(ctx);
  events.forEach(checkEvent);

  const workspaceId = ctx.workspaceId.toLowerCase();
  const head = await lockChainHead(trx, workspaceId);
  const now = new Date(); // JavaScript dates are milliseconds: the precision that is hashed and stored
  const occurredAt = head.occurredAt && head.occurredAt.getTime() > now.getTime() ? head.occurredAt : now;
  const actor: AuditActor = { type: ctx.actor.type, id: fixString(ctx.actor.id) };
  if (ctx.actor.display !== undefined && ctx.actor.display !== null) actor.display = fixString(ctx.actor.display);
  const requestId = ctx.requestId === undefined || ctx.requestId === null ? null : fixString(ctx.requestId);

  const ids: string[] = new Array(events.length);
  const hashEvent = eventHasher({ workspaceId, occurredAt, actor, requestId });
  let seq = head.seq;
  let prevHash = head.hash;
  let pending: Promise<unknown> | undefined;

  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    const end = Math.min(start + INSERT_CHUNK, events.length);
    const chunk: Chunk = { ids: [], seqs: [], types: [], targetTypes: [], targetIds: [], data: [], causeIds: [], prevHashes: [], hashes: [] };
    for (let i = start; i < end; i++) {
      const e = events[i]!;
      // Uuids lower-cased: PostgreSQL gives them back that way, and verify must hash what it reads.
      const fields = {
        id: e.id === undefined ? newAuditEventId() : e.id.toLowerCase(),
        seq: ++seq,
        type: e.type,
        targetType: e.targetType,
        targetId: fixString(e.targetId),
        causeId: e.causeId === undefined || e.causeId === null ? null : e.causeId.toLowerCase(),
      };
      // Canonical JSON is also what is stored: jsonb parses it back to the same value.
      const data = canonicalAuditData(e.data);
      const hash = hashEvent(prevHash, fields, data);
      ids[i] = fields.id;
      chunk.ids.push(fields.id);
      chunk.seqs.push(fields.seq);
      chunk.types.push(fields.type);
      chunk.targetTypes.push(fields.targetType);
      chunk.targetIds.push(fields.targetId);
      chunk.data.push(data);
      chunk.causeIds.push(fields.causeId ?? '');
      chunk.prevHashes.push(prevHash);
      chunk.hashes.push(hash);
      prevHash = hash;
    }
    // The next chunk is hashed while this one is in flight (PostgreSQL works in its own process).
    await pending;
    pending = insertEventsStatement(workspaceId, occurredAt, actor, requestId, chunk).execute(trx);
  }
  await pending;

  await trx
    .updateTable('audit_chain_heads')
    .set({ seq, hash: prevHash, occurred_at: occurredAt })
    .where('workspace_id', '=', workspaceId)
    .execute();
  return ids;
}

/**
 * One INSERT for the whole chunk. Columns whose values cannot contain a comma (uuids, numbers,
 * validated event and target types, hex hashes) travel as one comma-joined string each, split by
 * string_to_array; target ids and data travel as one JSON array each. Against pg's array
 * literals (every element quoted and escaped) this halves the client's work and cuts the
 * server's by a quarter. ROWS FROM zips the lists; '' in cause ids is NULL.
 */
export function insertEventsStatement(workspaceId: string, occurredAt: Date, actor: AuditActor, requestId: string | null, c: Chunk) {
  return sql`
    insert into audit_events
      (id, workspace_id, seq, occurred_at, actor_type, actor_id, actor_display, request_id,
       event_type, target_type, target_id, data, cause_id, prev_hash, hash)
    select e.id, ${workspaceId}::uuid, e.seq, ${occurredAt.toISOString()}::timestamptz, ${actor.type}, ${actor.id},
           ${actor.display ?? null}::text, ${requestId}::text,
           e.event_type, e.target_type, e.target_id, e.data, e.cause_id, e.prev_hash, e.hash
    from rows from (
      unnest(string_to_array(${c.ids.join(',')}::text, ',')::uuid[]),
      unnest(string_to_array(${c.seqs.join(',')}::text, ',')::bigint[]),
      unnest(string_to_array(${c.types.join(',')}::text, ',')),
      unnest(string_to_array(${c.targetTypes.join(',')}::text, ',')),
      jsonb_array_elements_text(${JSON.stringify(c.targetIds)}::jsonb),
      jsonb_array_elements(${`[${c.data.join(',')}]`}::jsonb),
      unnest(string_to_array(${c.causeIds.join(',')}::text, ',', '')::uuid[]),
      unnest(string_to_array(${c.prevHashes.join(',')}::text, ',')),
      unnest(string_to_array(${c.hashes.join(',')}::text, ','))
    ) as e(id, seq, event_type, target_type, target_id, data, cause_id, prev_hash, hash)`;
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
  };
}

/** The chain head without locking it (readers, verify); undefined before the first event. */
export async function findChainHead(db: Executor, workspaceId: string): Promise<ChainHead | undefined> {
  const row = await db.selectFrom('audit_chain_heads').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
  return row ? toChainHead(row) : undefined;
}

/** Events with afterSeq < seq <= throughSeq, in seq order: keyset pages over the (workspace_id, seq) key. */
export async function listAuditEventsBySeq(
  db: Executor,
  workspaceId: string,
  afterSeq: number,
  throughSeq: number,
  limit: number,
): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', throughSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map(toAuditEvent);
}

export { GENESIS_HASH, newAuditEventId };
