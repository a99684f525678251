import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as accessService from '../../services/access.service.js';
import { permissionHolders } from '../../services/effective-access.service.js';
import { CreatePermission, HoldersPage, HoldersQuery, KeyParams, Permission, UpdatePermission } from './access-schemas.js';
import { Cursor, errors, Limit, Page } from './schemas.js';
import { Defaulted } from './validator.js';
import { sendWrite, WRITE_NOTE } from './write-result.js';

// The permission catalogue (data, not code: new Codex toggles are added here) and its holders.

const tags = ['Permissions'];

const permissionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/permissions',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'List the permission catalogue, by key', querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }), response: { 200: Page(Permission, 'PermissionPage'), ...errors(400) } } },
    async (request) => accessService.permissionsPage(app.db, request.admin.workspaceId, { cursor: request.query.cursor, limit: request.query.limit }),
  );

  app.post(
    '/permissions',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Add a permission to the catalogue',
        description: `A permission with baseline true is granted at once to every user none of whose roles decides it. ${WRITE_NOTE}`,
        body: CreatePermission,
        response: { 201: Permission, ...errors(400, 409) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.createPermission(app.db, adminAudit(request), request.body), 201),
  );

  app.get(
    '/permissions/:key',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'Get a permission', params: KeyParams, response: { 200: Permission, ...errors(404) } } },
    async (request) => accessService.getPermission(app.db, request.admin.workspaceId, request.params.key),
  );

  app.patch(
    '/permissions/:key',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: "Change a permission's description or baseline",
        description: `A baseline change is recomputed for every user. ${WRITE_NOTE}`,
        params: KeyParams,
        body: UpdatePermission,
        response: { 200: Permission, ...errors(400, 404) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.updatePermission(app.db, adminAudit(request), request.params.key, request.body)),
  );

  app.delete(
    '/permissions/:key',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Remove a permission from the catalogue and from every role',
        description: `Its holders lose it. ${WRITE_NOTE}`,
        params: KeyParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(404) },
      },
    },
    async (request, reply) => sendWrite(reply, await accessService.deletePermission(app.db, adminAudit(request), request.params.key), 204),
  );

  app.get(
    '/permissions/:key/holders',
    {
      config: { adminAccess: 'read' },
      schema: {
        tags: ['Effective access'],
        summary: 'Every user who holds a permission',
        description: 'Active users whose effective permissions include the key, in user-id order, a keyset page at a time (from the stored effective-access snapshot, not resolved user by user).',
        params: KeyParams,
        querystring: HoldersQuery,
        response: { 200: HoldersPage, ...errors(400, 404) },
      },
    },
    async (request) =>
      permissionHolders(app.db, request.admin.workspaceId, request.params.key, {
        cursor: request.query.cursor,
        limit: request.query.limit,
        includeTotal: request.query.includeTotal,
      }),
  );
};

export default permissionsRoutes;
