import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { holdersAt, holdersCsv, holdersHtml } from '../../services/reviews.service.js';
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
    permission: Type.String(),
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
        summary: 'Who held a permission at a given instant, since when and why',
        description:
          'From the audit log alone: every user whose access.changed events (or the retention checkpoint) say they held the permission at `at` (default: now), ' +
          'when they last gained it, the event that granted it and its cause in words, and the signed audit checkpoint the events are sealed under. ' +
          '`format=csv` (RFC 4180) or `format=html` (a printable page) instead of JSON.',
        querystring: Type.Object({
          permission: Type.String({ minLength: 1, maxLength: 200 }),
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
      const { permission, at, format = 'json' } = request.query;
      const report = await holdersAt(app.db, request.admin.workspaceId, app.auditLog.options, permission, at ? new Date(at) : new Date());
      const name = `holders-${permission}-${report.at}`.replace(/[^A-Za-z0-9_-]/g, '-');
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(holdersCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(holdersHtml(report));
      return report;
    },
  );
};

export default reviewsRoutes;
