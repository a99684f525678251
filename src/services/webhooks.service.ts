import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { AUDIT_EVENT_TYPES, type AuditContext } from '../audit/types.js';
import type { WebhookConfig } from '../config/index.js';
import type { Db, Executor } from '../db/index.js';
import { isUuid } from '../repositories/ids.js';
import { checkWebhookUrl, WebhookAddressError } from '../webhooks/address-guard.js';
import { subscribes } from '../webhooks/outbox.js';
import { newWebhookSecret } from '../webhooks/signing.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';
import { invalid, notFound } from './admin-errors.js';
import { commit } from './commit.js';

// Webhook endpoints of a workspace, for owners (README "Webhooks"): registered, changed, rotated
// and deleted through the commit step (audited; never the secret), their delivery log, manual
// redelivery and replay from a cursor. Sending is src/webhooks/worker.ts.

export interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  nextAttemptAt: Date;
  createdAt: Date;
  updatedAt: Date;
  pendingDeliveries: number;
}

export interface NewWebhook {
  url: string;
  description?: string | null;
  eventTypes: string[];
  enabled?: boolean;
}

export type WebhookChange = Partial<NewWebhook>;

const PREFIXES = new Set(AUDIT_EVENT_TYPES.map((t) => t.split('.')[0]!));

/** Exact catalogue types, `<prefix>.*` for a prefix of the catalogue, or `*`; sorted, once each. */
function checkEventTypes(value: readonly string[]): string[] {
  // Also for the CLI, whose --events list may come out empty.
  if (value.length === 0) throw invalid('eventTypes', 'eventTypes must be a non-empty array, e.g. ["access.changed", "group.*"]');
  value.forEach((type, i) => {
    const known = type === '*' || (AUDIT_EVENT_TYPES as readonly string[]).includes(type) || (type.endsWith('.*') && PREFIXES.has(type.slice(0, -2)));
    if (!known) throw invalid(`eventTypes.${i}`, `${JSON.stringify(type)} is not an event type; use a type of the audit catalogue (README "Audit"), "<prefix>.*" or "*"`);
  });
  return [...new Set(value)].sort();
}

function checkUrl(config: WebhookConfig, value: string): string {
  try {
    return checkWebhookUrl(config, value).href;
  } catch (error) {
    if (error instanceof WebhookAddressError) throw invalid('url', error.message);
    throw error;
  }
}

/** Trimmed; a blank description is none. Shapes and lengths are checked by the route schemas. */
function descriptionOrNull(value: string | null | undefined): string | null {
  return value?.trim() || null;
}

async function view(db: Executor, workspaceId: string, id?: string): Promise<WebhookView[]> {
  let query = db
    .selectFrom('webhook_endpoints as ep')
    .select((eb) => [
      'ep.id',
      'ep.url',
      'ep.description',
      'ep.event_types as eventTypes',
      'ep.enabled',
      'ep.disabled_reason as disabledReason',
      'ep.failing_since as failingSince',
      'ep.next_attempt_at as nextAttemptAt',
      'ep.created_at as createdAt',
      'ep.updated_at as updatedAt',
      eb
        .selectFrom('webhook_deliveries as d')
        .select(sql<string>`count(*)`.as('n'))
        .whereRef('d.endpoint_id', '=', 'ep.id')
        .where('d.status', '=', 'pending')
        .as('pendingDeliveries'),
    ])
    .where('ep.workspace_id', '=', workspaceId)
    .orderBy('ep.created_at')
    .orderBy('ep.id');
  if (id !== undefined) query = query.where('ep.id', '=', id);
  return (await query.execute()).map((r) => ({ ...r, pendingDeliveries: Number(r.pendingDeliveries ?? 0) }));
}

export const listWebhooks = (db: Executor, workspaceId: string): Promise<WebhookView[]> => view(db, workspaceId);

export async function getWebhook(db: Executor, workspaceId: string, id: string): Promise<WebhookView> {
  const [found] = isUuid(id) ? await view(db, workspaceId, id) : [];
  if (!found) throw notFound('webhook', id);
  return found;
}

async function lockEndpoint(db: Executor, workspaceId: string, id: string) {
  const row = isUuid(id)
    ? await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirst()
    : undefined;
  if (!row) throw notFound('webhook', id);
  return row;
}

/** Registers an endpoint; its signing secret is in this answer and nowhere else. */
export async function createWebhook(db: Db, audit: AuditContext, config: WebhookConfig, input: NewWebhook): Promise<{ webhook: WebhookView; secret: string }> {
  const url = checkUrl(config, input.url);
  const eventTypes = checkEventTypes(input.eventTypes);
  const description = descriptionOrNull(input.description);
  const enabled = input.enabled ?? true;
  const id = randomUUID();
  const secret = newWebhookSecret();
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('webhook_endpoints').values({ id, workspace_id: audit.workspaceId, url, description, event_types: eventTypes, enabled, secret }).execute();
    await commit(trx, audit, [{ type: 'webhook.created', targetType: 'webhook', targetId: id, data: { url, eventTypes, enabled, description } }]);
    return { webhook: (await view(trx, audit.workspaceId, id))[0]!, secret };
  });
}

/** Changes what is given. Enabling a disabled endpoint resumes its pending deliveries at once. */
export async function updateWebhook(db: Db, audit: AuditContext, config: WebhookConfig, id: string, input: WebhookChange): Promise<WebhookView> {
  return db.transaction().execute(async (trx) => {
    const row = await lockEndpoint(trx, audit.workspaceId, id);
    const before: Record<string, unknown> = { url: row.url, description: row.description, eventTypes: row.event_types, enabled: row.enabled };
    const after: Record<string, unknown> = {
      url: input.url === undefined ? row.url : checkUrl(config, input.url),
      description: input.description === undefined ? row.description : descriptionOrNull(input.description),
      eventTypes: input.eventTypes === undefined ? row.event_types : checkEventTypes(input.eventTypes),
      enabled: input.enabled ?? row.enabled,
    };
    const changed = Object.keys(after).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
    if (changed.length === 0) return (await view(trx, audit.workspaceId, row.id))[0]!;
    const resumed = after.enabled === true && !row.enabled;
    await trx
      .updateTable('webhook_endpoints')
      .set({
        url: after.url as string,
        description: after.description as string | null,
        event_types: after.eventTypes as string[],
        enabled: after.enabled as boolean,
        updated_at: sql`now()`,
        ...(resumed ? { disabled_reason: null, failing_since: null, next_attempt_at: sql`now()` } : {}),
        ...(after.enabled === false ? { disabled_reason: 'Disabled by an owner' } : {}),
      })
      .where('id', '=', row.id)
      .execute();
    const pick = (o: Record<string, unknown>) => Object.fromEntries(changed.map((k) => [k, o[k]]));
    await commit(trx, audit, [{ type: 'webhook.updated', targetType: 'webhook', targetId: row.id, data: { url: after.url, changed, before: pick(before), after: pick(after) } }]);
    return (await view(trx, audit.workspaceId, row.id))[0]!;
  });
}

/** A new secret signs every delivery from now on; the old one stops at once. */
export async function rotateWebhookSecret(db: Db, audit: AuditContext, id: string): Promise<{ secret: string }> {
  const secret = newWebhookSecret();
  await db.transaction().execute(async (trx) => {
    const row = await lockEndpoint(trx, audit.workspaceId, id);
    await trx.updateTable('webhook_endpoints').set({ secret, updated_at: sql`now()` }).where('id', '=', row.id).execute();
    await commit(trx, audit, [{ type: 'webhook.secret_rotated', targetType: 'webhook', targetId: row.id, data: { url: row.url } }]);
  });
  return { secret };
}

export async function deleteWebhook(db: Db, audit: AuditContext, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await lockEndpoint(trx, audit.workspaceId, id);
    await trx.deleteFrom('webhook_endpoints').where('id', '=', row.id).execute();
    await commit(trx, audit, [{ type: 'webhook.deleted', targetType: 'webhook', targetId: row.id, data: { url: row.url, eventTypes: row.event_types } }]);
  });
}

export interface DeliveryAttemptView {
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventSeq: number;
  eventType: string;
  status: 'pending' | 'delivered';
  attempts: number;
  createdAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  /** The newest attempts first (at most ATTEMPTS_SHOWN). */
  recentAttempts: DeliveryAttemptView[];
}

const ATTEMPTS_SHOWN = 10;

/** The delivery log, newest event first; `status` narrows it. */
export async function listDeliveries(
  db: Executor,
  workspaceId: string,
  id: string,
  query: { status?: 'pending' | 'delivered'; cursor?: string; limit: number },
): Promise<Page<DeliveryView>> {
  await getWebhook(db, workspaceId, id);
  const before = decodeCursor(query.cursor, 1, ([seq]) => Number.isSafeInteger(seq))?.[0] as number | undefined;
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('audit_events as e', 'e.id', 'd.event_id')
    .select(['d.id', 'd.event_id as eventId', 'd.event_seq as eventSeq', 'e.event_type as eventType', 'd.status', 'd.attempts', 'd.created_at as createdAt', 'd.last_attempt_at as lastAttemptAt', 'd.delivered_at as deliveredAt'])
    .select((eb) =>
      sql<DeliveryAttemptView[]>`coalesce((select json_agg(a order by a.id desc) from (
        select attempted_at as "attemptedAt", status_code as "statusCode", latency_ms as "latencyMs", error, response_excerpt as "responseExcerpt", id
        from webhook_attempts where delivery_id = ${eb.ref('d.id')} order by id desc limit ${ATTEMPTS_SHOWN}) a), '[]')`.as('recentAttempts'),
    )
    .where('d.endpoint_id', '=', id)
    .orderBy('d.event_seq', 'desc')
    .limit(rowsToRead(query.limit));
  if (query.status) q = q.where('d.status', '=', query.status);
  if (before !== undefined) q = q.where('d.event_seq', '<', before);
  const page = keysetPage(await q.execute(), query.limit, (r) => [Number(r.eventSeq)]);
  const items = page.rows.map((r) => ({
    ...r,
    eventSeq: Number(r.eventSeq),
    recentAttempts: r.recentAttempts.map(({ attemptedAt, statusCode, latencyMs, error, responseExcerpt }) => ({ attemptedAt: new Date(attemptedAt), statusCode, latencyMs, error, responseExcerpt })),
  }));
  return { items, nextCursor: page.nextCursor };
}

/** Sends a delivery again (delivered or not), before the endpoint's other pending deliveries of later events. */
export async function redeliver(db: Db, audit: AuditContext, id: string, deliveryId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await lockEndpoint(trx, audit.workspaceId, id);
    const delivery = isUuid(deliveryId)
      ? await trx.updateTable('webhook_deliveries').set({ status: 'pending', delivered_at: null, generation: sql`generation + 1` }).where('id', '=', deliveryId).where('endpoint_id', '=', row.id).returning('event_id').executeTakeFirst()
      : undefined;
    if (!delivery) throw notFound('delivery', deliveryId);
    await trx.updateTable('webhook_endpoints').set({ next_attempt_at: sql`now()` }).where('id', '=', row.id).execute();
    await commit(trx, audit, [{ type: 'webhook.redelivery_requested', targetType: 'webhook', targetId: row.id, data: { url: row.url, deliveryId, eventId: delivery.event_id } }]);
  });
}

/**
 * Queues every event from `fromSeq` on that the endpoint subscribes to, already delivered or not
 * (a receiver that lost data, or events from before the endpoint existed or while it was off).
 */
export async function replay(db: Db, audit: AuditContext, id: string, fromSeq: number): Promise<{ deliveries: number }> {
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) throw invalid('fromSeq', 'fromSeq must be an audit event seq (a non-negative integer)');
  return db.transaction().execute(async (trx) => {
    const row = await lockEndpoint(trx, audit.workspaceId, id);
    const result = await sql`
      insert into webhook_deliveries (endpoint_id, event_id, event_seq)
      select ${row.id}::uuid, e.id, e.seq from audit_events e
      where e.workspace_id = ${audit.workspaceId} and e.seq >= ${fromSeq}
        and ${subscribes(sql`${row.event_types}::text[]`, sql.ref('e.event_type'))}
      on conflict (endpoint_id, event_id) do update set status = 'pending', delivered_at = null, generation = webhook_deliveries.generation + 1`.execute(trx);
    const deliveries = Number(result.numAffectedRows ?? 0);
    await trx.updateTable('webhook_endpoints').set({ next_attempt_at: sql`now()` }).where('id', '=', row.id).execute();
    await commit(trx, audit, [{ type: 'webhook.replay_requested', targetType: 'webhook', targetId: row.id, data: { url: row.url, fromSeq, deliveries } }]);
    return { deliveries };
  });
}
