import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as accessService from '../../services/access.service.js';
import { CreateMapping, Mapping, MappingQuery } from './access-schemas.js';
import { errors, Page, Uuid } from './schemas.js';
import { sendWrite, WRITE_NOTE } from './write-result.js';

// Group → role mappings. A mapping names its group by SCIM id, externalId or displayName; change
// one by deleting it and creating another (each recorded).

const tags = ['Mappings'];
const IdParams = Type.Object({ id: Uuid });

const mappingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/mappings',
    {
      config: { adminAccess: 'read' },
      schema: { tags, summary: 'List mappings, by role name', description: 'Optionally only those of one role or matching one group.', querystring: MappingQuery, response: { 200: Page(Mapping, 'MappingPage'), ...errors(400) } },
    },
    async (request) => accessService.mappingsPage(app.db, request.admin.workspaceId, { ...request.query, limit: request.query.limit }),
  );

  app.post(
    '/mappings',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Map a group to a role',
        description: `The group's current members are recomputed. ${WRITE_NOTE}`,
        body: CreateMapping,
        response: { 201: Mapping, ...errors(400, 409) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.createMapping(app.db, adminAudit(request), request.body), 201),
  );

  app.get(
    '/mappings/:id',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'Get a mapping', params: IdParams, response: { 200: Mapping, ...errors(400, 404) } } },
    async (request) => accessService.getMapping(app.db, request.admin.workspaceId, request.params.id),
  );

  app.delete(
    '/mappings/:id',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Delete a mapping',
        description: `The members of the groups it matched are recomputed. ${WRITE_NOTE}`,
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(400, 404) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.deleteMapping(app.db, adminAudit(request), request.params.id), 204),
  );
};

export default mappingsRoutes;
