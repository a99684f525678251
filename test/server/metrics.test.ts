import t from 'tap';
import { Secret } from '../../src/config/index.js';
import { startMetricsServer } from '../../src/plugins/metrics.js';
import { listTokens } from '../../src/services/tokens.service.js';
import { buildTestApp } from '../helpers/app.js';
import { testDialect } from '../helpers/db.js';

// @dialect-independent: the series are the same on both databases (pool usage exists on PostgreSQL only).

// /metrics after real requests: the series an operator alerts on are there, move with the
// traffic, name SCIM clients by token id and never show a secret.

const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdefghij';

/** The value of one series in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] === name && wanted.every((pair) => match[2]!.split(',').includes(pair))) return Number(match[3]);
  }
  return 0;
}

t.test('the series move with the traffic; the scrape needs METRICS_TOKEN', async (t) => {
  const { app, scim, db, scimToken } = await buildTestApp(t, { metricsToken: new Secret(METRICS_TOKEN), scimRateLimitPerMinute: 5 });
  const tokenId = (await listTokens(db.db, { workspaceId: db.workspaceId }))[0]!.id;
  const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body;

  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'no credential: 401');
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${scimToken}` } })).statusCode, 401, 'a SCIM token is not the metrics token');
  const before = await scrape();

  const created = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'metrics@example.com' });
  t.equal(created.statusCode, 201);
  const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'codex-admins', members: [{ value: created.json().id }] });
  t.equal(group.statusCode, 201);
  t.equal((await scim('GET', `/Users/${created.json().id}`)).statusCode, 200);
  t.equal((await scim('GET', '/Users/00000000-0000-4000-8000-000000000000')).statusCode, 404);
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await scim('GET', '/Users')).statusCode);
  t.ok(statuses.includes(429), 'the sixth request in the minute is refused');

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
  t.equal(delta('http_request_duration_seconds_count', { method: 'POST', route: '/scim/v2/Users', status_code: '201' }), 1, 'requests by route template, method and status');
  t.equal(delta('http_request_duration_seconds_count', { method: 'GET', route: '/scim/v2/Users/:id', status_code: '404' }), 1, 'the id stays out of the route label');
  t.equal(delta('scim_operations_total', { resource: 'Users', operation: 'create', outcome: 'success', token_id: tokenId }), 1, 'SCIM operations per token id');
  t.equal(delta('scim_operations_total', { resource: 'Users', operation: 'get', outcome: 'client_error', token_id: tokenId }), 1, 'failures by outcome');
  t.equal(delta('scim_operations_total', { resource: 'Groups', operation: 'create', outcome: 'success', token_id: tokenId }), 1);
  t.ok(delta('rate_limit_rejections_total', { limit: 'scim' }) >= 1, 'rate-limit rejections');
  t.ok(delta('projection_duration_seconds_count', { projector: 'effective_access' }) >= 1, 'effective-access recomputes, timed');
  t.ok(delta('db_query_duration_seconds_count', { outcome: 'ok' }) > 5, 'database statements, timed');
  t.match(after, /^# TYPE http_request_duration_seconds histogram$/m, 'latency is a histogram');
  t.match(after, /^process_resident_memory_bytes \d+/m, 'process metrics');
  if (testDialect === 'postgres') t.match(after, /^db_pool_connections\{state="total"\} \d+/m, 'pool usage on PostgreSQL');
  t.notOk(after.includes(scimToken) || after.includes(METRICS_TOKEN), 'no secret in the scrape');
});

t.test('METRICS_PORT: a separate loopback listener without a credential', async (t) => {
  const server = await startMetricsServer(0, '127.0.0.1');
  t.teardown(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.match(await res.text(), /^# HELP http_request_duration_seconds /m);
  t.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404, 'nothing else there');
});
