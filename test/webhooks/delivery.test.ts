import { sql } from 'kysely';
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { Secret, testConfig, type WebhookConfig } from '../../src/config/index.js';
import { guardedLookup } from '../../src/webhooks/address-guard.js';
import { buildAdminTestApp, json, type AdminTestApp } from '../routes/admin/helpers.js';
import { startReceiver, type Receiver } from './receiver.js';

// Signed change webhooks end to end: the real app, its worker, and a loopback receiver that
// answers 500, stalls, drops the connection and recovers. Every event is accepted, first
// accepted in seq order per endpoint, duplicates only as at-least-once allows (same webhook-id,
// same body), and every request verifies with the `standardwebhooks` package.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdefghij';

interface Teardown {
  teardown(fn: () => unknown): void;
}

// The timeout is long enough for a loaded 2-core CI machine to answer in time (at 300 ms a 500
// answered under load was logged as a timeout); the one stalled attempt waits it out.
const FAST: WebhookConfig = { allowHosts: [], timeoutMs: 1500, retryForMs: 60_000, retryBaseMs: 20, retryMaxMs: 200, pollIntervalMs: 25 };

async function app(t: Teardown, webhooks: Partial<WebhookConfig> = {}): Promise<AdminTestApp> {
  return buildAdminTestApp(t, { webhooks: { ...FAST, ...webhooks }, auditLog: { ...testConfig().auditLog, sealIntervalMs: 50 }, metricsToken: new Secret(METRICS_TOKEN) });
}

async function receiver(t: Teardown): Promise<Receiver> {
  const r = await startReceiver();
  t.teardown(() => r.close());
  return r;
}

async function register(ctx: AdminTestApp, url: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  const res = await ctx.api('POST', '/webhooks', { body: { url, eventTypes, description: 'test receiver' } });
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`);
  return { id: json(res).webhook.id, secret: json(res).secret };
}

/** Ids of the workspace's events of these types (exact or `prefix.*`), in seq order. */
async function eventsOf(ctx: AdminTestApp, types: string[]): Promise<Array<{ id: string; event_type: string; seq: number }>> {
  const rows = await ctx.db.db.selectFrom('audit_events').select(['id', 'event_type', 'seq']).where('workspace_id', '=', ctx.workspaceId).orderBy('seq').execute();
  return rows.filter((r) => types.some((type) => type === r.event_type || (type.endsWith('.*') && r.event_type.startsWith(type.slice(0, -1))))).map((r) => ({ ...r, seq: Number(r.seq) }));
}

/** The receiver answers before the worker records the answer: waits until nothing is pending. */
async function settled(ctx: AdminTestApp, endpointId: string): Promise<number> {
  let pending = Infinity;
  for (let i = 0; i < 400 && pending > 0; i++) {
    pending = json(await ctx.api('GET', `/webhooks/${endpointId}`)).pendingDeliveries;
    if (pending > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return pending;
}

const firstOccurrences = (ids: string[]): string[] => [...new Set(ids)];

t.test('every event delivered through 500s, stalls and dropped connections: in order, signed, at least once', async (t) => {
  const ctx = await app(t);
  const a = await receiver(t);
  const b = await receiver(t);
  const typesA = ['group.*', 'user.*', 'access.changed'];
  const endpointA = await register(ctx, a.url, typesA);
  const endpointB = await register(ctx, b.url, ['group.member_added']);
  a.script(['500', 'stall', 'drop', '500'], (n) => (n % 7 === 0 ? '500' : n % 11 === 0 ? 'drop' : 'ok'));

  const users: string[] = [];
  for (let i = 0; i < 6; i++) users.push(json(await ctx.scim('POST', '/Users', { schemas: [USER], userName: `hook${i}@example.com` })).id);
  const group = json(await ctx.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-local-users', members: users.slice(0, 2).map((value) => ({ value })) })).id;
  // Concurrent writers: the order they commit in is the order the receiver must see.
  const patches = await Promise.all(
    users.slice(2).map((value, i) =>
      ctx.scim('PATCH', `/Groups/${group}`, { schemas: [PATCH], Operations: [{ op: i % 2 ? 'remove' : 'add', path: 'members', value: [{ value: i % 2 ? users[i - 1] : value }] }] }),
    ),
  );
  t.ok(patches.every((r) => r.statusCode === 200 || r.statusCode === 204), 'the patches applied');
  t.equal((await ctx.scim('PATCH', `/Users/${users[5]}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 200);

  const expectedA = await eventsOf(ctx, typesA);
  const expectedB = await eventsOf(ctx, ['group.member_added']);
  t.ok(expectedA.some((e) => e.event_type === 'access.changed') && expectedA.some((e) => e.event_type === 'group.member_removed'), 'derived and membership events are subscribed');
  await a.until(() => new Set(a.accepted()).size >= expectedA.length);
  await b.until(() => new Set(b.accepted()).size >= expectedB.length);

  t.same(firstOccurrences(a.accepted()), expectedA.map((e) => e.id), 'endpoint A: each event accepted, first in seq order');
  t.same(firstOccurrences(b.accepted()), expectedB.map((e) => e.id), 'endpoint B: only what it subscribed to, in order');
  t.same(a.received.slice(0, 4).map((r) => r.answered), ['500', 'stall', 'drop', '500'], 'the receiver misbehaved first');
  t.equal(new Set(a.received.slice(0, 5).map((r) => r.id)).size, 1, 'the head event was retried until accepted, nothing overtaking it');

  const bodies = new Map<string, string>();
  const verifyA = new Webhook(endpointA.secret);
  for (const r of a.received) {
    t.doesNotThrow(() => verifyA.verify(r.body, r.headers as Record<string, string>), `signature of ${r.id} verifies`);
    if (bodies.has(r.id)) t.equal(r.body, bodies.get(r.id), 'a duplicate is the same message');
    bodies.set(r.id, r.body);
  }
  const verifyB = new Webhook(endpointB.secret);
  t.ok(b.received.every((r) => verifyB.verify(r.body, r.headers as Record<string, string>)), "endpoint B's deliveries verify with its own secret");
  t.throws(() => verifyA.verify(b.received[0]!.body, b.received[0]!.headers as Record<string, string>), "and not with A's");

  const first = JSON.parse(a.received.find((r) => r.answered === 'ok')!.body);
  t.match(first, { type: expectedA[0]!.event_type, timestamp: String, data: { id: expectedA[0]!.id, seq: expectedA[0]!.seq, leafIndex: Number, target: { type: String, id: String }, actor: { type: 'scim' } } });
  const removed = a.received.map((r) => JSON.parse(r.body)).find((m) => m.type === 'group.member_removed');
  t.match(removed, { data: { target: { type: 'group', id: group }, data: { userId: String } } }, 'membership events name the group and the user');

  t.equal(await settled(ctx, endpointA.id), 0, 'nothing left pending');
  const log = json(await ctx.api('GET', `/webhooks/${endpointA.id}/deliveries?limit=500`));
  const head = log.items.find((d: { eventId: string }) => d.eventId === expectedA[0]!.id);
  t.match(head, { status: 'delivered', attempts: 5 });
  t.match(
    [...head.recentAttempts].reverse(),
    [
      { statusCode: 500, error: 'HTTP 500', responseExcerpt: 'receiver is down for maintenance' },
      { statusCode: null, error: /Timeout/i },
      { statusCode: null, error: /Socket|closed/i },
      { statusCode: 500 },
      { statusCode: 204, error: null },
    ],
    'the delivery log keeps each attempt: status, error, a response excerpt',
  );

  const scrape = (await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body;
  t.match(scrape, /webhook_queue_depth \d+/);
  t.match(scrape, /webhook_delivery_duration_seconds_count\{outcome="delivered"\} \d+/);
  t.match(scrape, new RegExp(`webhook_delivery_failures_total\\{endpoint_id="${endpointA.id}"\\} \\d+`));

  const leaked = await sql<{ n: number }>`select count(*)::int as n from audit_events where data::text like '%whsec_%'`.execute(ctx.db.db);
  t.equal(leaked.rows[0]?.n, 0, 'no secret in the audit trail');
});

t.test('an endpoint failing for the whole retry period is disabled and audited; enable, redeliver, replay, rotate', async (t) => {
  const ctx = await app(t, { retryForMs: 1000 });
  const r = await receiver(t);
  r.script([], '500');
  const endpoint = await register(ctx, r.url, ['user.created']);
  const user = json(await ctx.scim('POST', '/Users', { schemas: [USER], userName: 'down@example.com' })).id;
  await r.until(() => r.received.length > 0);
  const deadline = Date.now() + 15_000;
  while (json(await ctx.api('GET', `/webhooks/${endpoint.id}`)).enabled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const disabled = json(await ctx.api('GET', `/webhooks/${endpoint.id}`));
  t.match(disabled, { enabled: false, disabledReason: /failed for .*HTTP 500/, pendingDeliveries: 1 }, 'disabled after the retry period, the delivery kept');
  const events = await ctx.db.db.selectFrom('audit_events').selectAll().where('target_id', '=', endpoint.id).orderBy('seq').execute();
  t.match(events.map((e) => [e.event_type, e.actor_type]), [['webhook.created', 'admin'], ['webhook.disabled', 'system']], 'the disabling is an audit event');
  const tried = r.received.length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(r.received.length, tried, 'a disabled endpoint is not called');

  r.script([], 'ok');
  t.match(json(await ctx.api('PATCH', `/webhooks/${endpoint.id}`, { body: { enabled: true } })), { enabled: true, disabledReason: null });
  await r.until(() => r.accepted().length === 1);
  const [createdEvent] = await eventsOf(ctx, ['user.created']);
  t.equal(r.accepted()[0], createdEvent!.id, 'enabling resumes the pending delivery');

  t.equal(await settled(ctx, endpoint.id), 0);
  const [delivery] = json(await ctx.api('GET', `/webhooks/${endpoint.id}/deliveries?status=delivered`)).items;
  t.equal((await ctx.api('POST', `/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`)).statusCode, 202);
  await r.until(() => r.accepted().length === 2);
  t.equal(r.accepted()[1], createdEvent!.id, 'redelivered with the same webhook-id');

  json(await ctx.scim('POST', '/Users', { schemas: [USER], userName: 'second@example.com' }));
  await r.until(() => r.accepted().length === 3);
  t.equal(await settled(ctx, endpoint.id), 0, 'delivered and recorded before the replay');
  const replay = await ctx.api('POST', `/webhooks/${endpoint.id}/replay`, { body: { fromSeq: 0 } });
  t.equal(replay.statusCode, 202);
  t.same(json(replay), { deliveries: 2 }, 'both user.created events queued again');
  await r.until(() => r.accepted().length === 5);
  const created = (await eventsOf(ctx, ['user.created'])).map((e) => e.id);
  t.same(r.accepted().slice(3), created, 'replayed in seq order');

  const rotated = json(await ctx.api('POST', `/webhooks/${endpoint.id}/rotate-secret`)).secret as string;
  t.not(rotated, endpoint.secret);
  await ctx.scim('PATCH', `/Users/${user}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
  json(await ctx.scim('POST', '/Users', { schemas: [USER], userName: 'third@example.com' }));
  await r.until(() => r.accepted().length === 6);
  const last = r.received[r.received.length - 1]!;
  t.ok(new Webhook(rotated).verify(last.body, last.headers as Record<string, string>), 'signed with the new secret');
  t.throws(() => new Webhook(endpoint.secret).verify(last.body, last.headers as Record<string, string>), 'not with the old one');

  const trail = await ctx.db.db.selectFrom('audit_events').select(['event_type', 'data']).where('target_id', '=', endpoint.id).orderBy('seq').execute();
  t.same(
    trail.map((e) => e.event_type),
    ['webhook.created', 'webhook.disabled', 'webhook.updated', 'webhook.redelivery_requested', 'webhook.replay_requested', 'webhook.secret_rotated'],
    'every change of the endpoint is audited',
  );
  t.notMatch(JSON.stringify(trail), /whsec_/, 'never with the secret');
  t.equal((await ctx.api('DELETE', `/webhooks/${endpoint.id}`)).statusCode, 204);
  t.equal((await ctx.api('GET', `/webhooks/${endpoint.id}`)).statusCode, 404);
});

t.test('a redelivery asked for while that delivery is in flight is not lost to its answer', async (t) => {
  const ctx = await app(t);
  const r = await receiver(t);
  r.script(['slow'], 'ok');
  const endpoint = await register(ctx, r.url, ['user.created']);
  await ctx.scim('POST', '/Users', { schemas: [USER], userName: 'inflight@example.com' });
  await r.until(() => r.received.length === 1);
  const [delivery] = json(await ctx.api('GET', `/webhooks/${endpoint.id}/deliveries`)).items;
  t.equal((await ctx.api('POST', `/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`)).statusCode, 202, 'asked while the first answer is 200 ms away');
  await r.until(() => r.accepted().length === 2);
  t.equal(r.accepted()[1], r.accepted()[0], 'sent again after the answer to the first send');
  t.equal(await settled(ctx, endpoint.id), 0);
});

t.test('safe by default: https, no private or link-local addresses, owners only, known event types', async (t) => {
  const ctx = await app(t);
  const refused: Array<[string, string, RegExp]> = [
    ['plain http', 'http://hooks.example.com/x', /https/],
    ['a private address', 'https://10.1.2.3/x', /private, link-local or reserved/],
    ['cloud metadata (link-local)', 'https://169.254.169.254/latest/meta-data', /private, link-local or reserved/],
    ['an IPv6 unique-local address', 'https://[fd00::1]/x', /private/],
    ['IPv4-mapped IPv6 of a private address', 'https://[::ffff:192.168.1.1]/x', /private/],
    ['credentials in the URL', 'https://user:pw@hooks.example.com/x', /credentials/],
    ['not a URL', 'hooks.example.com', /absolute URL/],
  ];
  for (const [name, url, message] of refused) {
    const res = await ctx.api('POST', '/webhooks', { body: { url, eventTypes: ['*'] } });
    t.equal(res.statusCode, 400, name);
    t.match(json(res).detail ?? json(res).message, message, name);
  }
  const badType = await ctx.api('POST', '/webhooks', { body: { url: 'https://hooks.example.com/x', eventTypes: ['access.changed', 'user.exploded'] } });
  t.equal(badType.statusCode, 400);
  t.match(JSON.stringify(json(badType)), /eventTypes\/1/);
  for (const role of ['codex-admin', 'compliance'] as const) t.equal((await ctx.api('GET', '/webhooks', { as: role })).statusCode, 403, `${role} may not`);
  const ok = await ctx.api('POST', '/webhooks', { body: { url: 'https://hooks.example.com/codex', eventTypes: ['user.*', 'group.member_added', 'group.member_added'] } });
  t.equal(ok.statusCode, 201, ok.body);
  t.same(json(ok).webhook.eventTypes, ['group.member_added', 'user.*'], 'deduplicated and sorted');
  t.match(json(ok).secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.notMatch(JSON.stringify(json(await ctx.api('GET', '/webhooks'))), /whsec_/, 'listings never show a secret');
  t.equal((await ctx.api('POST', '/webhooks', { body: { url: 'http://localhost:9/x', eventTypes: ['*'] } })).statusCode, 201, 'http to loopback is allowed');

  // At connection time: what a name resolves to decides, so DNS rebinding gets no further.
  const resolvingTo = (address: string, family = 4) => ((_h: string, _o: unknown, cb: (e: null, a: Array<{ address: string; family: number }>) => void) => cb(null, [{ address, family }])) as never;
  const lookup = (allowHosts: string[], address: string, family?: number) =>
    new Promise<string>((resolve) => guardedLookup({ allowHosts }, resolvingTo(address, family))('hooks.internal', { all: true }, (err) => resolve(err ? err.message : 'allowed')));
  t.match(await lookup([], '10.0.0.7'), /resolves to 10.0.0.7, a private/);
  t.match(await lookup([], 'fe80::1', 6), /resolves to fe80::1/);
  t.match(await lookup([], '100.64.0.1'), /private/, 'carrier-grade NAT');
  t.equal(await lookup([], '93.184.216.34'), 'allowed');
  t.equal(await lookup(['hooks.internal'], '10.0.0.7'), 'allowed', 'an allow-listed host name');
  t.equal(await lookup(['10.0.0.0/8'], '10.0.0.7'), 'allowed', 'an allow-listed range');
});
