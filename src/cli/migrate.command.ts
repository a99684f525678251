import type { Command } from 'commander';
import { say, withDatabase, type CliContext } from './context.js';

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations (every command does this first)')
    .action(async () => {
      const applied = await withDatabase(ctx, async (_db, applied) => applied, { reportMigrations: false });
      for (const name of applied) ctx.io.stdout.write(`${name}\n`);
      if (applied.length === 0) say(ctx, 'The database is up to date; no migrations applied');
    });
}
