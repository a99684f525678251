import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as directory from '../../services/admin-directory.service.js';
import { AdminGroup, AdminUser, Cursor, errors, GroupMember, GroupRef, GroupRefParam, Limit, Page, UserRef } from './schemas.js';
import { Defaulted } from './validator.js';

// Read access to the SCIM users and groups that admins need: search, a user's groups, a group's
// members. Users are named by id, userName or email wherever a path takes {user}.

const read = { adminAccess: 'read' as const };

const directoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/users',
    {
      config: read,
      schema: {
        tags: ['Users and groups'],
        summary: 'Search users',
        description: 'Users ordered by userName. `search` matches userName, externalId, displayName, name and emails (case-insensitive substring).',
        querystring: Type.Object({
          search: Type.Optional(Type.String({ maxLength: 256 })),
          active: Type.Optional(Type.Boolean()),
          limit: Defaulted(Limit),
          cursor: Type.Optional(Cursor),
        }),
        response: { 200: Page(AdminUser, 'AdminUserPage'), ...errors(400) },
      },
    },
    async (request) => directory.listUsers(app.db, request.admin.workspaceId, { ...request.query, limit: request.query.limit }),
  );

  app.get(
    '/users/:user',
    {
      config: read,
      schema: {
        tags: ['Users and groups'],
        summary: 'Get a user by id, userName or email',
        params: Type.Object({ user: UserRef }),
        response: { 200: AdminUser, ...errors(404, 409) },
      },
    },
    async (request) => directory.getUser(app.db, request.admin.workspaceId, request.params.user),
  );

  app.get(
    '/users/:user/groups',
    {
      config: read,
      schema: {
        tags: ['Users and groups'],
        summary: "A user's groups",
        params: Type.Object({ user: UserRef }),
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Type.Object({ user: AdminUser, items: Type.Array(GroupRef), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { title: 'AdminUserGroupPage' }), ...errors(400, 404, 409) },
      },
    },
    async (request) => directory.groupsOfUser(app.db, request.admin.workspaceId, request.params.user, { cursor: request.query.cursor, limit: request.query.limit }),
  );

  app.get(
    '/groups',
    {
      config: read,
      schema: {
        tags: ['Users and groups'],
        summary: 'Search groups',
        description: 'Groups ordered by displayName. `search` matches displayName and externalId (case-insensitive substring).',
        querystring: Type.Object({ search: Type.Optional(Type.String({ maxLength: 256 })), limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(AdminGroup, 'AdminGroupPage'), ...errors(400) },
      },
    },
    async (request) => directory.listGroups(app.db, request.admin.workspaceId, { ...request.query, limit: request.query.limit }),
  );

  app.get(
    '/groups/:id',
    {
      config: read,
      schema: { tags: ['Users and groups'], summary: 'Get a group', params: Type.Object({ id: GroupRefParam }), response: { 200: AdminGroup, ...errors(400, 404) } },
    },
    async (request) => directory.getGroup(app.db, request.admin.workspaceId, request.params.id),
  );

  app.get(
    '/groups/:id/members',
    {
      config: read,
      schema: {
        tags: ['Users and groups'],
        summary: "A group's members",
        description: 'Members in user-id order, a page at a time, however large the group.',
        params: Type.Object({ id: GroupRefParam }),
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(GroupMember, 'AdminGroupMemberPage'), ...errors(400, 404) },
      },
    },
    async (request) =>
      directory.groupMembers(app.db, request.admin.workspaceId, request.params.id, { cursor: request.query.cursor, limit: request.query.limit }),
  );
};

export default directoryRoutes;
