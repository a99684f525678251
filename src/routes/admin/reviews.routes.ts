import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalid } from '../../services/admin-errors.js';
import { groupMembersAt, holdersAt, holdersCsv, holdersHtml } from '../../services/reviews.service.js';
import { errors, Nullable } from './schemas.js';

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
    group: Nullable(Type.Object({ id: Type.String(), displayName: Nullable(Type.String()) })),
    at: Type.String({ format: 'date-time' }),
    generatedAt: Type.String({ format: 'date-time' }),
    holders: Type.Array(Holder),
    auditHead: Type.Object({ treeSize: Type.Integer(), rootHash: Type.String(), checkpoint: Type.String(), signed: Type.Boolean() }),
  },
  { title: 'HoldersReport' },
);

const reviewsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/reviews/holders',
    {
      config: { adminAccess: 'audit' },
      schema: {
        tags,
        summary: 'Who held a permission, or was in a group, at a given instant; since when and why',
        description:
          'From the audit log alone: every user whose access.changed events (or the retention checkpoint) say they held the permission at `at` (default: now), ' +
          'when they last gained it, the event that granted it and its cause in words, and the signed audit checkpoint the events are sealed under. ' +
          'With `group` (an id, or the current displayName) instead of `permission`: its members at `at`, each with the event that added them. ' +
          '`format=csv` (RFC 4180) or `format=html` (a printable page) instead of JSON.',
        querystring: Type.Object({
          permission: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
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
      const { permission, group, at, format = 'json' } = request.query;
      if ((permission === undefined) === (group === undefined)) throw invalid('permission', 'name either a permission or a group to review');
      const instant = at ? new Date(at) : new Date();
      const report = permission
        ? await holdersAt(app.db, request.admin.workspaceId, app.auditLog.options, permission, instant)
        : await groupMembersAt(app.db, request.admin.workspaceId, app.auditLog.options, group!, instant);
      const name = `${permission ? `holders-${permission}` : `members-${report.group!.displayName ?? report.group!.id}`}-${report.at}`.replace(/[^A-Za-z0-9_-]/g, '-');
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(holdersCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(holdersHtml(report));
      return report;
    },
  );
};

export default reviewsRoutes;
