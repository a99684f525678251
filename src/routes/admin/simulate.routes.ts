import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../config/index.js';
import { adminAudit } from '../../plugins/admin-auth.js';
import { invalid } from '../../services/admin-errors.js';
import type { ScimContext } from '../../services/context.js';
import { dryRun, dryRunPage } from '../../services/dry-run.js';
import * as groupsService from '../../services/groups.service.js';
import { workspaceSchemas } from '../../services/scim-schemas.service.js';
import * as usersService from '../../services/users.service.js';
import { DryRunQuery } from './dry-run.js';
import { errors } from './schemas.js';

// The dry run of a SCIM request: IdPs never send a dry-run flag, so an admin asks
// here what a push would do. The request runs through the same SCIM use-cases as the real one,
// as the workspace's SCIM client, and is rolled back at its commit step.

const tags = ['Dry runs'];

const SimulateScim = Type.Object(
  {
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('PATCH'), Type.Literal('DELETE')]),
    path: Type.String({ maxLength: 300, description: '/Users, /Groups, /Users/{id} or /Groups/{id}; a /scim/v2 prefix is accepted' }),
    body: Type.Optional(Type.Unknown({ description: 'The SCIM request body, as the IdP would send it' })),
    ifMatch: Type.Optional(Type.String({ maxLength: 200, description: 'The If-Match header the IdP would send' })),
  },
  { additionalProperties: false },
);

type Target = { resource: 'Users' | 'Groups'; id?: string };

function parsePath(path: string): Target {
  const match = /^(?:\/scim\/v2)?\/(Users|Groups)(?:\/([^/?#]+))?\/?$/.exec(path);
  if (!match) throw invalid('path', 'must be /Users, /Groups, /Users/{id} or /Groups/{id}');
  return { resource: match[1] as Target['resource'], id: match[2] === undefined ? undefined : decodeURIComponent(match[2]) };
}

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const WRITES_OF_ONE = {
  Users: { PUT: usersService.replaceUser, PATCH: usersService.patchUser, DELETE: (ctx: ScimContext, id: string, _body: unknown, ifMatch?: string) => usersService.deleteUser(ctx, id, ifMatch) },
  Groups: { PUT: groupsService.replaceGroup, PATCH: groupsService.patchGroup, DELETE: (ctx: ScimContext, id: string, _body: unknown, ifMatch?: string) => groupsService.deleteGroup(ctx, id, ifMatch) },
} as const;

function runScim(ctx: ScimContext, method: Method, { resource, id }: Target, body: unknown, ifMatch: string | undefined): Promise<unknown> {
  if (method === 'POST') {
    if (id !== undefined) throw invalid('path', 'POST creates: give /Users or /Groups');
    return resource === 'Users' ? usersService.createUser(ctx, body) : groupsService.createGroup(ctx, body);
  }
  if (id === undefined) throw invalid('path', `${method} needs the resource's id: /${resource}/{id}`);
  return WRITES_OF_ONE[resource][method](ctx, id, body, ifMatch);
}

const simulateRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/simulate/scim',
    {
      config: { adminAccess: 'manage' },
      schema: {
        tags,
        summary: 'What a SCIM request would change',
        description:
          'Runs a SCIM POST, PUT, PATCH or DELETE of a user or group exactly as the SCIM endpoint would, and rolls it back: nothing is written and no event is recorded. A request the SCIM endpoint would refuse is refused here with its status and detail.',
        body: SimulateScim,
        querystring: Type.Object({ cursor: DryRunQuery.cursor, limit: DryRunQuery.limit }),
        response: { 200: Type.Ref('Simulation'), ...errors(400, 404, 409) },
      },
    },
    async (request) => {
      const { method, path, body, ifMatch } = request.body;
      const target = parsePath(path);
      const workspaceId = request.admin.workspaceId;
      const ctx: ScimContext = {
        db: app.db,
        workspaceId,
        baseUrl: `${config.publicUrl ?? `${request.protocol}://${request.host}`}/scim/v2`,
        audit: adminAudit(request),
        maxResults: config.maxResults,
        maxInlineMembers: config.maxInlineMembers,
        log: request.log,
        schemas: await workspaceSchemas(app.db, workspaceId),
      };
      return dryRun(dryRunPage(request.query.limit, request.query.cursor), () => runScim(ctx, method, target, body, ifMatch));
    },
  );
};

export default simulateRoutes;
