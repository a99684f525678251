import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../config/index.js';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as webhooks from '../../services/webhooks.service.js';
import { DateTime } from './access-schemas.js';
import { Cursor, errors, Limit, Nullable, Page, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';

// Signed change webhooks (Standard Webhooks), for owners: endpoints, their delivery log,
// redelivery and replay (README "Webhooks").

const tags = ['Webhooks'];
const owner = { adminAccess: 'owner' as const };

const EventTypes = Type.Array(Type.String({ maxLength: 100 }), {
  minItems: 1,
  maxItems: 100,
  description: 'Audit event types: exact (`access.changed`, `group.member_added`), a prefix (`user.*`, `group.*`) or `*`',
});
const Url = Type.String({ maxLength: 2000, description: 'https (http only for loopback or a host in WEBHOOK_ALLOW_HOSTS); private addresses are refused' });
const Description = Nullable(Type.String({ maxLength: 200 }));

const Webhook = Type.Object(
  {
    id: Uuid,
    url: Type.String(),
    description: Nullable(Type.String()),
    eventTypes: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    disabledReason: Nullable(Type.String({ description: 'Why it is off: an owner, or every delivery failing for the retry period' })),
    failingSince: Nullable(DateTime),
    nextAttemptAt: DateTime,
    createdAt: DateTime,
    updatedAt: DateTime,
    pendingDeliveries: Type.Integer(),
  },
  { title: 'Webhook' },
);
const Secret = Type.String({ description: 'The signing secret (whsec_…), shown only in this response' });
const Attempt = Type.Object({ attemptedAt: DateTime, statusCode: Nullable(Type.Integer()), latencyMs: Type.Integer(), error: Nullable(Type.String()), responseExcerpt: Nullable(Type.String()) });
const Delivery = Type.Object(
  {
    id: Uuid,
    eventId: Type.String({ description: 'The audit event, and the webhook-id header of every attempt' }),
    eventSeq: Type.Integer(),
    eventType: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered')]),
    attempts: Type.Integer(),
    createdAt: DateTime,
    lastAttemptAt: Nullable(DateTime),
    deliveredAt: Nullable(DateTime),
    recentAttempts: Type.Array(Attempt, { description: 'Newest first, at most 10' }),
  },
  { title: 'WebhookDelivery' },
);
const Id = Type.Object({ id: Type.String({ maxLength: 100 }) });

const webhooksRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.get('/webhooks', { config: owner, schema: { tags, summary: "The workspace's webhook endpoints (never a secret)", response: { 200: Type.Array(Webhook), ...errors() } } }, async (request) =>
    webhooks.listWebhooks(app.db, request.admin.workspaceId),
  );

  app.post(
    '/webhooks',
    {
      config: owner,
      schema: {
        tags,
        summary: 'Register an endpoint',
        description: 'Deliveries start with the events committed after it. The signing secret is generated and shown once; receivers verify webhook-signature with it.',
        body: Type.Object({ url: Url, eventTypes: EventTypes, description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 201: Type.Object({ webhook: Webhook, secret: Secret }, { title: 'CreatedWebhook' }), ...errors(400) },
      },
    },
    async (request, reply) => {
      const created = await webhooks.createWebhook(app.db, adminAudit(request), config.webhooks, request.body);
      return reply.code(201).header('cache-control', 'no-store').header('location', `${request.url}/${created.webhook.id}`).send(created);
    },
  );

  app.get('/webhooks/:id', { config: owner, schema: { tags, summary: 'One endpoint', params: Id, response: { 200: Webhook, ...errors(404) } } }, async (request) =>
    webhooks.getWebhook(app.db, request.admin.workspaceId, request.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: owner,
      schema: {
        tags,
        summary: 'Change an endpoint, or enable or disable it',
        description: 'Enabling a disabled endpoint resumes its pending deliveries at once; events committed while it was off are not queued (replay them from a cursor).',
        params: Id,
        body: Type.Object({ url: Type.Optional(Url), eventTypes: Type.Optional(EventTypes), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Webhook, ...errors(400, 404) },
      },
    },
    async (request) => webhooks.updateWebhook(app.db, adminAudit(request), config.webhooks, request.params.id, request.body),
  );

  app.delete('/webhooks/:id', { config: owner, schema: { tags, summary: 'Delete an endpoint and its delivery log', params: Id, response: { 204: Type.Null({ description: 'Deleted' }), ...errors(404) } } }, async (request, reply) => {
    await webhooks.deleteWebhook(app.db, adminAudit(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.post(
    '/webhooks/:id/rotate-secret',
    { config: owner, schema: { tags, summary: 'Replace the signing secret; the old one stops at once', params: Id, response: { 200: Type.Object({ secret: Secret }), ...errors(404) } } },
    async (request, reply) => reply.header('cache-control', 'no-store').send(await webhooks.rotateWebhookSecret(app.db, adminAudit(request), request.params.id)),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: owner,
      schema: {
        tags,
        summary: 'The delivery log: every delivery with its attempts (status, latency, last error, a response excerpt)',
        params: Id,
        querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered')])), limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(Delivery, 'WebhookDeliveryPage'), ...errors(400, 404) },
      },
    },
    async (request) => webhooks.listDeliveries(app.db, request.admin.workspaceId, request.params.id, { ...request.query, limit: request.query.limit }),
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config: owner,
      schema: {
        tags,
        summary: 'Send a delivery again, with the same webhook-id',
        params: Type.Object({ id: Type.String({ maxLength: 100 }), deliveryId: Type.String({ maxLength: 100 }) }),
        response: { 202: Type.Null({ description: 'Queued' }), ...errors(404) },
      },
    },
    async (request, reply) => {
      await webhooks.redeliver(app.db, adminAudit(request), request.params.id, request.params.deliveryId);
      return reply.code(202).send(null);
    },
  );

  app.post(
    '/webhooks/:id/replay',
    {
      config: owner,
      schema: {
        tags,
        summary: "Send the endpoint's events again from a cursor",
        description: 'Every audit event with seq ≥ fromSeq that the endpoint subscribes to is queued, delivered before or not, in seq order.',
        params: Id,
        body: Type.Object({ fromSeq: Type.Integer({ minimum: 0, description: 'An audit event seq (GET /audit/events)' }) }, { additionalProperties: false }),
        response: { 202: Type.Object({ deliveries: Type.Integer() }), ...errors(400, 404) },
      },
    },
    async (request, reply) => reply.code(202).send(await webhooks.replay(app.db, adminAudit(request), request.params.id, request.body.fromSeq)),
  );
};

export default webhooksRoutes;
