import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as accessService from '../../services/access.service.js';
import { CreateRole, Role, RoleParams, UpdateRole } from './access-schemas.js';
import { Cursor, errors, Limit, Page } from './schemas.js';
import { Defaulted } from './validator.js';
import { sendWrite, WRITE_NOTE } from './write-result.js';

// Custom roles: a name, a description, and allow / deny / inherit per permission.

const tags = ['Roles'];

const rolesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/roles',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'List roles, by name', querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }), response: { 200: Page(Role, 'RolePage'), ...errors(400) } } },
    async (request) => accessService.rolesPage(app.db, request.admin.workspaceId, { cursor: request.query.cursor, limit: request.query.limit }),
  );

  app.post(
    '/roles',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Create a role',
        description: 'Nobody holds a new role until it is mapped to a group, assigned to a user or made the default role.',
        body: CreateRole,
        response: { 201: Role, ...errors(400, 409) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.createRole(app.db, adminAudit(request), request.body), 201),
  );

  app.get(
    '/roles/:role',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'Get a role by id or name', params: RoleParams, response: { 200: Role, ...errors(404) } } },
    async (request) => accessService.getRole(app.db, request.admin.workspaceId, request.params.role),
  );

  app.patch(
    '/roles/:role',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Rename a role or change its permissions',
        description: `Permissions merge into the role's settings ("inherit" removes one) unless replacePermissions is true. A permission change is recomputed for every user who has the role. ${WRITE_NOTE}`,
        params: RoleParams,
        body: UpdateRole,
        response: { 200: Role, ...errors(400, 404, 409) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.updateRole(app.db, adminAudit(request), request.params.role, request.body)),
  );

  app.delete(
    '/roles/:role',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Delete a role with its mappings and direct assignments',
        description: `The default role cannot be deleted (409): choose another default first. ${WRITE_NOTE}`,
        params: RoleParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(404, 409) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.deleteRole(app.db, adminAudit(request), request.params.role), 204),
  );
};

export default rolesRoutes;
