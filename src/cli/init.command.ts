import type { Command } from 'commander';
import { initWorkspaceAccess } from '../services/access.service.js';
import { say, withDatabase, type CliContext } from './context.js';
import { resolveWorkspace } from '../services/workspaces.service.js';

// `codex-scim init`: (re)seeds a workspace's recommended Codex access — the permission catalogue,
// the Codex Admin / Local / Cloud / Restricted roles, their displayName mappings and the default
// role. New workspaces get this on creation; init adds only what is missing, audited.
export function registerInitCommand(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('seed the recommended permissions, roles, group mappings and default role (adds only what is missing)')
    .option('--workspace <nameOrId>', 'workspace name or id', 'default')
    .action(async (options: { workspace: string }) => {
      await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        const { result, accessChanges } = await initWorkspaceAccess(db, { workspaceId: workspace.id, actor: ctx.actor });
        const added = result.permissionsCreated.length + result.rolesCreated.length + result.mappingsCreated.length;
        if (added === 0) {
          say(ctx, `Workspace "${workspace.name}" already has the recommended access model; nothing added`);
          return;
        }
        for (const key of result.permissionsCreated) say(ctx, `Added permission ${key}`);
        for (const role of result.rolesCreated) say(ctx, `Added role "${role.name}" (${role.id})`);
        for (const m of result.mappingsCreated) say(ctx, `Mapped group "${m.groupDisplayName}" to role "${m.roleName}"`);
        say(ctx, `Effective access changed for ${accessChanges.length} user(s)`);
      });
    });
}
