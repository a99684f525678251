import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { AuditEventRow } from '../db/types.js';
import { webhookDeliveryDuration, webhookFailures, webhookQueueDepth } from '../metrics.js';
import { toAuditEvent } from '../repositories/audit.repository.js';
import { commit } from '../services/commit.js';
import { guardedLookup } from './address-guard.js';
import { signWebhook } from './signing.js';

// Sends queued deliveries (outbox.ts). Runs in every instance; instances share the work through
// a lease on each endpoint, claimed with FOR UPDATE SKIP LOCKED in a short transaction, so no
// transaction stays open during an HTTP call (an open one would hold back the audit sealer).
//
// - In order per endpoint: an endpoint's deliveries go out one at a time in event seq order, and
//   only once their event is sealed: the sealer seals in seq order only below a horizon no
//   transaction can still write under, so the sealed events are a prefix in commit order and
//   nothing committed later can be sent before something committed earlier.
// - At least once: a delivery is marked delivered after the receiver's 2xx. A worker killed
//   mid-send leaves it pending; when its lease lapses another worker sends it again, with the
//   same webhook-id (the event id), which is how receivers drop duplicates.
// - A failure (non-2xx, timeout, refused address) is retried with exponential backoff and jitter;
//   after WEBHOOK_RETRY_FOR_MS of failing the endpoint is disabled, with a webhook.disabled event.

const BATCH = 50;
const CONCURRENT_ENDPOINTS = 4;
/** Bytes of a response kept in the delivery log. */
const EXCERPT_BYTES = 256;
const SYSTEM_ACTOR = { type: 'system' as const, id: 'webhook-worker', display: 'Webhook delivery' };

interface ClaimedEndpoint {
  id: string;
  workspace_id: string;
  url: string;
  secret: string;
}

type PendingRow = AuditEventRow & { delivery_id: string; attempts: number; generation: number };

interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  excerpt: string | null;
}

/** The Standard Webhooks body: type, timestamp, and the audit event as data. */
function webhookBody(row: AuditEventRow): string {
  const event = toAuditEvent(row);
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: {
      id: event.id,
      workspaceId: event.workspaceId,
      seq: event.seq,
      leafIndex: event.leafIndex,
      occurredAt: event.occurredAt.toISOString(),
      actor: event.actor,
      target: { type: event.targetType, id: event.targetId },
      causeId: event.causeId,
      data: event.data,
    },
  });
}

/** Delay before attempt `attempts + 1`: base·2^(n−1) capped, then "equal jitter" (half fixed, half random). */
function retryDelayMs(config: Pick<WebhookConfig, 'retryBaseMs' | 'retryMaxMs'>, attempts: number): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export interface WebhookWorker {
  stop(): Promise<void>;
}

export function startWebhookWorker(db: Db, config: WebhookConfig, onError: (error: unknown) => void): WebhookWorker {
  const owner = `${process.pid}-${randomUUID()}`;
  // A lease outlives one attempt (connect and answer, each bounded by the timeout) with margin.
  const leaseMs = 2 * config.timeoutMs + 1000;
  const agent = new Agent({ connect: { timeout: config.timeoutMs, lookup: guardedLookup(config) }, keepAliveTimeout: 10_000 });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const send = async (endpoint: ClaimedEndpoint, row: PendingRow): Promise<SendOutcome> => {
    const body = webhookBody(row);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await request(endpoint.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'codex-scim-bridge-webhooks', ...signWebhook(endpoint.secret, row.id, new Date(), body) },
        body,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        signal: AbortSignal.timeout(config.timeoutMs * 2),
      });
      let excerpt = '';
      for await (const chunk of response.body) {
        excerpt += (chunk as Buffer).toString('utf8');
        if (excerpt.length >= EXCERPT_BYTES) break; // leaving the loop discards the rest
      }
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return { ok, statusCode: response.statusCode, latencyMs: elapsed(), error: ok ? null : `HTTP ${response.statusCode}`, excerpt: excerpt.slice(0, EXCERPT_BYTES) || null };
    } catch (error) {
      const err = error as Error & { code?: string; cause?: Error & { code?: string } };
      const cause = err.cause ?? err;
      return { ok: false, statusCode: null, latencyMs: elapsed(), error: `${cause.code ?? cause.name}: ${cause.message}`.slice(0, 500), excerpt: null };
    }
  };

  /** Records one attempt and its consequence in one transaction; false when the endpoint must stop for now. */
  const record = async (endpoint: ClaimedEndpoint, row: PendingRow, outcome: SendOutcome): Promise<boolean> => {
    webhookDeliveryDuration.observe({ outcome: outcome.ok ? 'delivered' : 'failed' }, outcome.latencyMs / 1000);
    if (!outcome.ok) webhookFailures.inc({ endpoint_id: endpoint.id });
    return db.transaction().execute(async (trx) => {
      // The endpoint's row first, as every change of an endpoint (redeliver, replay, PATCH) takes
      // it before its deliveries: one lock order, so a redelivery asked for mid-send cannot deadlock.
      // (NO KEY: new deliveries, queued by writes meanwhile, may still reference it.)
      const current = await trx.selectFrom('webhook_endpoints').select(['failing_since', 'enabled', 'url']).where('id', '=', endpoint.id).forNoKeyUpdate().executeTakeFirst();
      if (!current) return false; // deleted meanwhile, its deliveries with it
      await trx
        .insertInto('webhook_attempts')
        .values({ delivery_id: row.delivery_id, status_code: outcome.statusCode, latency_ms: outcome.latencyMs, error: outcome.error, response_excerpt: outcome.excerpt })
        .execute();
      const attempts = row.attempts + 1;
      await trx.updateTable('webhook_deliveries').set({ attempts, last_attempt_at: sql`now()` }).where('id', '=', row.delivery_id).execute();
      if (outcome.ok) {
        // Unless a redelivery or replay was asked for since this attempt was read.
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'delivered', delivered_at: sql`now()` })
          .where('id', '=', row.delivery_id)
          .where('generation', '=', row.generation)
          .execute();
      }
      if (outcome.ok) {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: null, lease_until: sql`now() + ${leaseMs} * interval '1 millisecond'` })
          .where('id', '=', endpoint.id)
          .where('lease_owner', '=', owner)
          .execute();
        return true;
      }
      const failingSince = current.failing_since ?? new Date();
      if (current.enabled && Date.now() - failingSince.getTime() >= config.retryForMs) {
        const reason = `Every delivery failed for ${Math.round(config.retryForMs / 60_000)} minutes; the last: ${outcome.error}`;
        await trx.updateTable('webhook_endpoints').set({ enabled: false, disabled_reason: reason, lease_owner: null, lease_until: null, updated_at: sql`now()` }).where('id', '=', endpoint.id).execute();
        await commit(trx, { workspaceId: endpoint.workspace_id, actor: SYSTEM_ACTOR }, [
          { type: 'webhook.disabled', targetType: 'webhook', targetId: endpoint.id, data: { url: current.url, reason, failingSince: failingSince.toISOString(), attempts } },
        ]);
        return false;
      }
      await trx
        .updateTable('webhook_endpoints')
        .set({
          failing_since: failingSince,
          next_attempt_at: sql`now() + ${retryDelayMs(config, attempts)} * interval '1 millisecond'`,
          lease_owner: null,
          lease_until: null,
        })
        .where('id', '=', endpoint.id)
        .where('lease_owner', '=', owner)
        .execute();
      return false;
    });
  };

  const release = (endpoint: ClaimedEndpoint) =>
    db.updateTable('webhook_endpoints').set({ lease_owner: null, lease_until: null }).where('id', '=', endpoint.id).where('lease_owner', '=', owner).execute();

  /** Sends an endpoint's deliveries in order until it has none, meets an unsealed event, or fails. */
  const drain = async (endpoint: ClaimedEndpoint): Promise<void> => {
    try {
      while (!stopped) {
        const rows = (await sql<PendingRow>`
          select e.*, d.id as delivery_id, d.attempts, d.generation
          from webhook_deliveries d join audit_events e on e.id = d.event_id
          where d.endpoint_id = ${endpoint.id} and d.status = 'pending'
          order by d.event_seq limit ${BATCH}`.execute(db)).rows;
        if (rows.length === 0) return;
        for (const row of rows) {
          if (stopped || row.leaf_index === null) return; // not sealed yet: the sealer will get there
          if (!(await record(endpoint, row, await send(endpoint, row)))) return;
        }
      }
    } finally {
      await release(endpoint).catch(onError);
    }
  };

  const claim = async (): Promise<ClaimedEndpoint[]> =>
    (await sql<ClaimedEndpoint>`
      update webhook_endpoints set lease_owner = ${owner}, lease_until = now() + ${leaseMs} * interval '1 millisecond'
      where id in (
        select ep.id from webhook_endpoints ep
        where ep.enabled and ep.next_attempt_at <= now() and (ep.lease_until is null or ep.lease_until < now())
          and exists (select 1 from webhook_deliveries d where d.endpoint_id = ep.id and d.status = 'pending')
        order by ep.next_attempt_at limit ${CONCURRENT_ENDPOINTS}
        for update skip locked)
      returning id, workspace_id, url, secret`.execute(db)).rows;

  const tick = async () => {
    const endpoints = await claim();
    await Promise.all(endpoints.map((endpoint) => drain(endpoint).catch(onError)));
    const [depth] = (await sql<{ n: string }>`select count(*) as n from webhook_deliveries where status = 'pending'`.execute(db)).rows;
    webhookQueueDepth.set(Number(depth?.n ?? 0));
  };

  const run = () => {
    if (stopped || running) return;
    clearTimeout(timer);
    running = tick()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(run, config.pollIntervalMs).unref();
      });
  };
  timer = setTimeout(run, config.pollIntervalMs).unref();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await agent.close();
    },
  };
}
