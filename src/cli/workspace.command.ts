import type { Command } from 'commander';
import { listWorkspaces } from '../repositories/workspaces.repository.js';
import { say, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';
import { createWorkspace } from '../services/workspaces.service.js';

export function registerWorkspaceCommands(program: Command, ctx: CliContext): void {
  const workspace = program.command('workspace').description('create and list workspaces');

  workspace
    .command('create')
    .description('create a workspace; prints its id')
    .argument('<name>', 'workspace name (unique)')
    .action(async (name: string) => {
      const created = await withDatabase(ctx, (db) => createWorkspace(db, name, ctx.actor));
      ctx.io.stdout.write(`${created.id}\n`);
      say(ctx, `Created workspace ${JSON.stringify(created.name)}`);
    });

  workspace
    .command('list')
    .description('list workspaces')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const rows = await withDatabase(ctx, (db) => listWorkspaces(db));
      if (options.json) {
        ctx.io.stdout.write(json(rows.map((w) => ({ id: w.id, name: w.name, createdAt: w.created_at.toISOString() }))));
      } else {
        ctx.io.stdout.write(table(['ID', 'NAME', 'CREATED'], rows.map((w) => [w.id, w.name, timestamp(w.created_at)])));
      }
    });
}
