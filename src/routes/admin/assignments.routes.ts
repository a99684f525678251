import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as accessService from '../../services/access.service.js';
import { resolveUserRow } from '../../services/admin-directory.service.js';
import { DefaultRole, DirectRole, SetDefaultRole } from './access-schemas.js';
import { errors, UserRef, Uuid } from './schemas.js';
import { sendWrite, WRITE_NOTE } from './write-result.js';

// Roles assigned to one user directly, and the workspace's default role.

const tags = ['Assignments'];
const UserParams = Type.Object({ user: UserRef });
const UserRoleParams = Type.Object({ user: UserRef, roleId: Uuid });

const assignmentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/users/:user/roles',
    {
      config: { adminAccess: 'read' },
      schema: { tags, summary: 'Roles assigned directly to a user', params: UserParams, response: { 200: Type.Array(DirectRole), ...errors(404, 409) } },
    },
    async (request) => {
      const user = await resolveUserRow(app.db, request.admin.workspaceId, request.params.user);
      return accessService.listUserRoles(app.db, request.admin.workspaceId, user.id);
    },
  );

  app.put(
    '/users/:user/roles/:roleId',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Assign a role to a user directly',
        description: `Idempotent: 201 when assigned now, 200 when the user already had it directly. Answers with the user's direct roles. ${WRITE_NOTE}`,
        params: UserRoleParams,
        response: { 200: Type.Array(DirectRole), 201: Type.Array(DirectRole), ...errors(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.admin;
      const user = await resolveUserRow(app.db, workspaceId, request.params.user);
      const write = await accessService.assignRole(app.db, adminAudit(request), user.id, request.params.roleId);
      const roles = await accessService.listUserRoles(app.db, workspaceId, user.id);
      return sendWrite(reply, { result: roles, accessChanges: write.accessChanges }, write.result.assigned ? 201 : 200);
    },
  );

  app.delete(
    '/users/:user/roles/:roleId',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: "Remove a role from a user's direct assignments",
        description: `404 when the user does not have the role directly (roles through groups are changed by mappings). ${WRITE_NOTE}`,
        params: UserRoleParams,
        response: { 204: Type.Null({ description: 'Removed' }), ...errors(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const user = await resolveUserRow(app.db, request.admin.workspaceId, request.params.user);
      return sendWrite(reply, await accessService.unassignRole(app.db, adminAudit(request), user.id, request.params.roleId), 204);
    },
  );

  app.get(
    '/default-role',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'The default role', response: { 200: DefaultRole, ...errors() } } },
    async (request) => {
      const settings = await accessService.getAccessSettings(app.db, request.admin.workspaceId);
      return { roleId: settings.defaultRoleId, roleName: settings.defaultRoleName };
    },
  );

  app.put(
    '/default-role',
    {
      config: { adminAccess: 'manage', dryRun: true },
      schema: {
        tags,
        summary: 'Set the default role (or none)',
        description: `Applies to every active user with no role of their own; everyone is recomputed. ${WRITE_NOTE}`,
        body: SetDefaultRole,
        response: { 200: DefaultRole, ...errors(400) },
      },
    },
    async (request, reply) => {
      const write = await accessService.setDefaultRole(app.db, adminAudit(request), request.body.roleId);
      return sendWrite(reply, { result: { roleId: write.result.defaultRoleId, roleName: write.result.defaultRoleName }, accessChanges: write.accessChanges });
    },
  );
};

export default assignmentsRoutes;
