import type { LogEvent } from 'kysely';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// The Prometheus series the service exports at /metrics (README "Metrics"). One registry per
// process: the instruments are module-level so that code far from the app (the commit step, the
// database driver) can record without being handed anything. Labels never carry a secret: SCIM
// clients are named by token id.

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by route template, method and status, with their latency',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const scimOperations = new Counter({
  name: 'scim_operations_total',
  help: 'SCIM operations by resource type, operation and outcome, per SCIM token id',
  labelNames: ['resource', 'operation', 'outcome', 'token_id'] as const,
  registers: [registry],
});

export const rateLimitRejections = new Counter({
  name: 'rate_limit_rejections_total',
  help: 'Requests refused with 429 by the rate limiter, by limit',
  labelNames: ['limit'] as const,
  registers: [registry],
});

const dbQueryDuration = new Histogram({
  name: 'db_query_duration_seconds',
  help: 'Database statements by outcome, with their latency',
  labelNames: ['outcome'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  registers: [registry],
});

export function observeQuery(event: LogEvent): void {
  dbQueryDuration.observe({ outcome: event.level === 'error' ? 'error' : 'ok' }, event.queryDurationMillis / 1000);
}

const pools = new Set<pg.Pool>();

/** Counts a PostgreSQL pool in db_pool_connections until it ends. */
export function observePool(pool: pg.Pool): void {
  pools.add(pool);
}

new Gauge({
  name: 'db_pool_connections',
  help: 'PostgreSQL pool connections: open (total), idle, and requests waiting for one; absent on PGlite',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const pool of pools) {
      if (pool.ending || pool.ended) {
        pools.delete(pool);
        continue;
      }
      this.inc({ state: 'total' }, pool.totalCount);
      this.inc({ state: 'idle' }, pool.idleCount);
      this.inc({ state: 'waiting' }, pool.waitingCount);
    }
  },
});

export const projectionDuration = new Histogram({
  name: 'projection_duration_seconds',
  help: 'Recomputes of derived state inside a write (effective access, effective policy), with their latency',
  labelNames: ['projector'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
  registers: [registry],
});

export const auditSealingLag = new Histogram({
  name: 'audit_sealing_lag_seconds',
  help: 'Time from an audit event being written to its sealing into the Merkle log',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const auditUnsealed = new Gauge({
  name: 'audit_unsealed_events',
  help: 'Committed audit events not yet sealed, as of the last sealer pass',
  registers: [registry],
});

export const webhookQueueDepth = new Gauge({
  name: 'webhook_queue_depth',
  help: 'Webhook deliveries not yet delivered, all endpoints, as of the last worker pass',
  registers: [registry],
});

export const webhookDeliveryDuration = new Histogram({
  name: 'webhook_delivery_duration_seconds',
  help: 'Time from sending a webhook to its answer (or failure), by outcome',
  labelNames: ['outcome'],
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const webhookFailures = new Counter({
  name: 'webhook_delivery_failures_total',
  help: 'Failed webhook delivery attempts per endpoint (non-2xx, timeout, refused address, connection error)',
  labelNames: ['endpoint_id'],
  registers: [registry],
});
