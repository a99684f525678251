import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as campaigns from '../../services/review-campaigns.service.js';
import { Cursor, errors, Limit, Nullable, Page, Timestamp, UserRef, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';

// Review campaigns (README "Review campaigns"): owners and compliance admins open and close them;
// named reviewers decide keep or revoke per holder; the evidence is frozen at close.

const tags = ['Access reviews'];

const Principal = Type.Object({ principal: Type.String({ description: 'user:<SCIM user id> (signs in through the IdP) or token:<admin token id>' }), display: Type.String() });
const Actor = Type.Object({ type: Type.String(), id: Type.String(), display: Type.Optional(Type.String()) });
const Head = Type.Object({ treeSize: Type.Integer(), rootHash: Type.String(), checkpoint: Type.String(), signed: Type.Boolean() });
const Change = Type.Object({
  eventId: Uuid,
  at: Timestamp,
  reason: Type.String({ description: 'e.g. "removed from group codex-admins"' }),
  stillHolds: Type.Boolean(),
});
const Item = Type.Object({
  userId: Uuid,
  userName: Nullable(Type.String()),
  since: Nullable(Timestamp),
  reason: Type.String({ description: 'Why they held it when the campaign opened' }),
  grantedByEvent: Nullable(Uuid),
  decision: Nullable(Type.Union([Type.Literal('keep'), Type.Literal('revoke')])),
  comment: Nullable(Type.String()),
  decidedBy: Nullable(Principal),
  decidedAt: Nullable(Timestamp),
  changedDuringReview: Nullable(Change),
});
const campaignProperties = {
    id: Uuid,
    name: Type.String(),
    subject: Type.Object({ kind: Type.Union([Type.Literal('permission'), Type.Literal('role'), Type.Literal('group')]), id: Type.String(), name: Type.String() }),
    dueAt: Timestamp,
    status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
    overdue: Type.Boolean(),
    openedAt: Timestamp,
    openedBy: Actor,
    closedAt: Nullable(Timestamp),
    closedBy: Nullable(Actor),
    reviewers: Type.Array(Principal),
    progress: Type.Object({ holders: Type.Integer(), kept: Type.Integer(), revoked: Type.Integer(), undecided: Type.Integer(), changedDuringReview: Type.Integer() }),
    openedHead: Head,
};
const Campaign = Type.Object(campaignProperties, { title: 'ReviewCampaign' });
const CampaignWithItems = Type.Object(
  { ...campaignProperties, items: Type.Array(Item, { description: 'changedDuringReview flags a holder whose hold on the subject changed after the campaign opened' }) },
  { title: 'ReviewCampaignWithItems' },
);
const Removal = Type.Object({
  userId: Uuid,
  userName: Nullable(Type.String()),
  comment: Nullable(Type.String()),
  decidedBy: Type.String(),
  actions: Type.Array(Type.Object({ kind: Type.String(), where: Type.Union([Type.Literal('idp'), Type.Literal('bridge')]) }, { additionalProperties: true })),
  instructions: Type.Array(Type.String()),
});
const Evidence = Type.Object(
  {
    campaign: Campaign,
    holders: Type.Array(Item),
    removals: Type.Array(Removal),
    alreadyRemoved: Type.Array(Type.Object({ userId: Uuid, userName: Nullable(Type.String()), change: Change })),
    newHolders: Type.Array(Type.Object({ userId: Type.String(), userName: Nullable(Type.String()) }, { additionalProperties: true })),
    auditHead: Head,
    generatedAt: Timestamp,
  },
  { title: 'ReviewEvidence' },
);
const Id = Type.Object({ id: Uuid });

const reviewCampaignsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const seal = () => app.auditLog.options;

  app.post(
    '/reviews/campaigns',
    {
      config: { adminAccess: 'audit' },
      schema: {
        tags,
        summary: 'Open a review campaign over the holders of a permission, a role or a group',
        description:
          'Exactly one of `permission`, `role` (id or name) or `group` (id, externalId or displayName). The holders now become the items to review, each with why they hold it. ' +
          'Reviewers are admin users (userName, email or id; they sign in through the IdP) or bridge admin tokens (`token:<id>`). Recorded as a review.opened audit event.',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          permission: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          role: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          group: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
          reviewers: Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { minItems: 1, maxItems: 50 }),
          dueAt: Timestamp,
        }),
        response: { 201: CampaignWithItems, ...errors(400, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await campaigns.openCampaign(app.db, adminAudit(request), seal(), request.body)),
  );

  app.get(
    '/reviews/campaigns',
    {
      config: { adminAccess: 'review' },
      schema: {
        tags,
        summary: 'Review campaigns, newest first',
        description: 'Owners and compliance admins see every campaign; anyone else the campaigns they are a named reviewer of.',
        querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])), limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(Campaign, 'ReviewCampaignPage'), ...errors(400) },
      },
    },
    async (request) => campaigns.listCampaigns(app.db, request.admin.workspaceId, campaigns.reviewerOf(request.admin), { ...request.query, limit: request.query.limit }),
  );

  app.get(
    '/reviews/campaigns/:id',
    {
      config: { adminAccess: 'review' },
      schema: {
        tags,
        summary: 'A campaign with every holder under review, the decision on each, and who changed while it was open',
        params: Id,
        response: { 200: CampaignWithItems, ...errors(404) },
      },
    },
    async (request) => campaigns.getCampaign(app.db, request.admin.workspaceId, campaigns.reviewerOf(request.admin), request.params.id),
  );

  app.put(
    '/reviews/campaigns/:id/decisions/:user',
    {
      config: { adminAccess: 'review' },
      schema: {
        tags,
        summary: 'Keep or revoke one holder (a named reviewer only, and not on their own access)',
        description: 'Deciding again replaces the decision; each decision is a review.decided audit event naming the one it replaces. Closed campaigns refuse decisions (409).',
        params: Type.Object({ id: Uuid, user: UserRef }),
        body: Type.Object({ decision: Type.Union([Type.Literal('keep'), Type.Literal('revoke')]), comment: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) }),
        response: { 200: Item, ...errors(400, 404, 409) },
      },
    },
    async (request) => campaigns.decide(app.db, adminAudit(request), campaigns.reviewerOf(request.admin), request.params.id, request.params.user, request.body),
  );

  app.post(
    '/reviews/campaigns/:id/close',
    {
      config: { adminAccess: 'audit' },
      schema: {
        tags,
        summary: 'Close a campaign and freeze its evidence',
        description:
          'The evidence: the holders with their decisions, reviewers and times; the removals to carry out (in the IdP, which stays the source of truth, or in the bridge for direct roles); ' +
          'revoked holders who had already lost it; users who gained it while the campaign was open; and the signed audit head every decision is sealed under. Undecided holders stay undecided.',
        params: Id,
        response: { 200: Evidence, ...errors(404, 409) },
      },
    },
    async (request) => campaigns.closeCampaign(app.db, adminAudit(request), seal(), request.params.id),
  );

  app.get(
    '/reviews/campaigns/:id/evidence',
    {
      config: { adminAccess: 'review' },
      schema: {
        tags,
        summary: "A closed campaign's evidence: JSON, CSV (a row per holder) or a printable page",
        params: Id,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('html')])) }),
        response: {
          200: { description: 'The evidence', content: { 'application/json': { schema: Evidence }, 'text/csv': { schema: Type.String() }, 'text/html': { schema: Type.String() } } },
          ...errors(404, 409),
        },
      },
    },
    async (request, reply) => {
      const evidence = await campaigns.campaignEvidence(app.db, request.admin.workspaceId, campaigns.reviewerOf(request.admin), request.params.id);
      const file = `review-${evidence.campaign.id}`;
      if (request.query.format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${file}.csv"`).send(campaigns.evidenceCsv(evidence));
      if (request.query.format === 'html') return reply.type('text/html; charset=utf-8').send(campaigns.evidenceHtml(evidence));
      return evidence;
    },
  );

  app.get(
    '/reviews/campaigns/:id/removals',
    {
      config: { adminAccess: 'review' },
      schema: {
        tags,
        summary: "A closed campaign's removals to carry out: JSON or CSV (a row per action)",
        params: Id,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])) }),
        response: {
          200: { description: 'The removals', content: { 'application/json': { schema: Type.Array(Removal) }, 'text/csv': { schema: Type.String() } } },
          ...errors(404, 409),
        },
      },
    },
    async (request, reply) => {
      const evidence = await campaigns.campaignEvidence(app.db, request.admin.workspaceId, campaigns.reviewerOf(request.admin), request.params.id);
      if (request.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="review-${evidence.campaign.id}-removals.csv"`).send(campaigns.removalsCsv(evidence));
      }
      return evidence.removals;
    },
  );
};

export default reviewCampaignsRoutes;
