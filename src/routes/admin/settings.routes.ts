import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Executor } from '../../db/index.js';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as accessService from '../../services/access.service.js';
import { Settings, UpdateSettings } from './access-schemas.js';
import { errors } from './schemas.js';
import { sendWrite, WRITE_NOTE } from './write-result.js';

// The workspace's resolution settings: the strategy that combines a user's roles, the default
// role, and (read-only here) the baseline of each permission.

const tags = ['Settings'];

async function settingsView(db: Executor, workspaceId: string, settings?: accessService.AccessSettingsView) {
  const [current, permissions] = await Promise.all([
    settings ?? accessService.getAccessSettings(db, workspaceId),
    accessService.listPermissions(db, workspaceId),
  ]);
  return { ...current, baselines: Object.fromEntries(permissions.map((p) => [p.key, p.baseline])) };
}

const settingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/settings',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'Resolution strategy, default role and baselines', response: { 200: Settings, ...errors() } } },
    async (request) => settingsView(app.db, request.admin.workspaceId),
  );

  app.patch(
    '/settings',
    {
      config: { adminAccess: 'owner', dryRun: true },
      schema: {
        tags,
        summary: 'Change the resolution strategy or the default role',
        description: `Everyone is recomputed. Baselines are changed per permission (PATCH /permissions/{key}). ${WRITE_NOTE}`,
        body: UpdateSettings,
        response: { 200: Settings, ...errors(400) },
      },
    },
    async (request, reply) => {
      const write = await accessService.updateAccessSettings(app.db, adminAudit(request), request.body);
      return sendWrite(reply, { result: await settingsView(app.db, request.admin.workspaceId, write.result), accessChanges: write.accessChanges });
    },
  );
};

export default settingsRoutes;
