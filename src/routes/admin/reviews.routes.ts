import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { accessTimeline, groupSizeOverTime, holdersCsv, holdersHtml, holdersOverTime, holdersReport, reportFileName } from '../../services/reviews.service.js';
import { Cursor, errors, GroupRefParam, Limit, Nullable, UserRef } from './schemas.js';
import { Defaulted } from './validator.js';

// Access reviews as of a date, for compliance and owners (README "Access reviews").

const tags = ['Access reviews'];

const Holder = Type.Object({
  userId: Type.String(),
  userName: Nullable(Type.String()),
  since: Nullable(Type.String({ format: 'date-time' })),
  source: Type.Union([Type.Literal('event'), Type.Literal('checkpoint')]),
  grantedBy: Nullable(
    Type.Object({
      eventId: Type.String(),
      seq: Type.Integer(),
      cause: Nullable(Type.Object({ id: Type.String(), type: Type.String(), targetType: Type.String(), targetId: Type.String(), data: Type.Object({}, { additionalProperties: true }) })),
      reason: Type.String(),
    }),
  ),
});
const HoldersReport = Type.Object(
  {
    permission: Nullable(Type.String()),
    role: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
    group: Nullable(Type.Object({ id: Type.String(), displayName: Nullable(Type.String()) })),
    at: Type.String({ format: 'date-time' }),
    generatedAt: Type.String({ format: 'date-time' }),
    holders: Type.Array(Holder),
    auditHead: Type.Object({ treeSize: Type.Integer(), rootHash: Type.String(), checkpoint: Type.String(), signed: Type.Boolean() }),
  },
  { title: 'HoldersReport' },
);

const Cause = Nullable(Type.Object({ id: Type.String(), type: Type.String(), targetType: Type.String(), targetId: Type.String(), data: Type.Object({}, { additionalProperties: true }) }));

const AccessTimeline = Type.Object(
  {
    userId: Type.String(),
    userName: Nullable(Type.String()),
    entries: Type.Array(
      Type.Object({
        eventId: Type.String(),
        seq: Type.Integer(),
        at: Type.String({ format: 'date-time' }),
        gained: Type.Array(Type.String()),
        lost: Type.Array(Type.String()),
        after: Type.Array(Type.String()),
        cause: Cause,
        reason: Type.String({ description: 'The cause in words, e.g. "removed from group codex-cloud-users"' }),
        actor: Type.Object({ type: Type.String(), id: Type.String(), display: Nullable(Type.String()) }),
      }),
    ),
    nextCursor: Nullable(Type.String()),
  },
  { title: 'AccessTimeline' },
);

const DailyCounts = Type.Array(Type.Object({ date: Type.String({ description: 'UTC day, YYYY-MM-DD' }), count: Type.Integer({ description: 'As of the end of that day (today: now)' }) }));
const Days = Type.Object({ days: Defaulted(Type.Integer({ minimum: 1, maximum: 366, default: 30 })) });

const reviewsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/users/:user/access-timeline',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: "Every change of a user's effective permissions, newest first, with its cause in words",
        description:
          'The access.changed events of one user with the event that caused each (a membership, a mapping, a role change, a lifecycle change) and who made it. ' +
          'Readable by codex-admins, who do not read the whole audit log. The user by id (also after deletion), userName or email.',
        params: Type.Object({ user: UserRef }),
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: AccessTimeline, ...errors(400, 404) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      return accessTimeline(app.db, request.admin.workspaceId, request.params.user, { limit, cursor });
    },
  );

  app.get(
    '/permissions/:key/holders-over-time',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: 'How many users held a permission at the end of each of the last days',
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Days,
        response: { 200: Type.Object({ permission: Type.String(), days: DailyCounts }, { title: 'HoldersOverTime' }), ...errors(400) },
      },
    },
    async (request) => holdersOverTime(app.db, request.admin.workspaceId, request.params.key, request.query.days),
  );

  app.get(
    '/groups/:id/size-over-time',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: 'How many members a group had at the end of each of the last days',
        params: Type.Object({ id: GroupRefParam }),
        querystring: Days,
        response: { 200: Type.Object({ groupId: Type.String(), days: DailyCounts }, { title: 'GroupSizeOverTime' }), ...errors(400, 404) },
      },
    },
    async (request) => groupSizeOverTime(app.db, request.admin.workspaceId, request.params.id, request.query.days),
  );

  app.get(
    '/reviews/holders',
    {
      config: { adminAccess: 'audit' },
      schema: {
        tags,
        summary: 'Who held a permission or a role, or was in a group, at a given instant; since when and why',
        description:
          'From the audit log alone: every user whose access.changed events (or the retention checkpoint) say they held the permission at `at` (default: now), ' +
          'when they last gained it, the event that granted it and its cause in words, and the signed audit checkpoint the events are sealed under. ' +
          'With `role` (an id or name) instead: the users who held the role, from the roles access.changed events record (since migration 2026120501). ' +
          'With `group` (an id, or the current displayName): its members at `at`, each with the event that added them. ' +
          '`format=csv` (RFC 4180) or `format=html` (a printable page) instead of JSON.',
        querystring: Type.Object({
          permission: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          role: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          group: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
          at: Type.Optional(Type.String({ format: 'date-time' })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('html')])),
        }),
        response: {
          200: {
            description: 'The report',
            content: { 'application/json': { schema: HoldersReport }, 'text/csv': { schema: Type.String() }, 'text/html': { schema: Type.String() } },
          },
          ...errors(400),
        },
      },
    },
    async (request, reply) => {
      const { permission, role, group, at, format = 'json' } = request.query;
      const report = await holdersReport(app.db, request.admin.workspaceId, app.auditLog.options, { permission, role, group }, at ? new Date(at) : new Date());
      const name = reportFileName(report);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(holdersCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(holdersHtml(report));
      return report;
    },
  );
};

export default reviewsRoutes;
