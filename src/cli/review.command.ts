import type { Command } from 'commander';
import { holdersAt, holdersCsv, holdersHtml } from '../services/reviews.service.js';
import { resolveWorkspace } from '../services/workspaces.service.js';
import { UserError, withDatabase, type CliContext } from './context.js';
import { json } from './format.js';

// `codex-scim review holders`: who held a permission at an instant, as in GET /api/v1/reviews/holders.

const FORMATS = ['json', 'csv', 'html'] as const;

export function registerReviewCommands(program: Command, ctx: CliContext): void {
  const review = program.command('review').description('access reviews from the audit log');

  review
    .command('holders')
    .description('every user who held a permission at an instant, since when and why; the report on stdout')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .requiredOption('--permission <key>', 'permission key, e.g. codex_admin')
    .option('--at <date-time>', 'the instant, RFC 3339 (default: now)')
    .option('--format <format>', `${FORMATS.join(', ')} (default json)`, 'json')
    .action(async (options: { workspace: string; permission: string; at?: string; format: string }) => {
      if (!(FORMATS as readonly string[]).includes(options.format)) throw new UserError(`--format must be one of ${FORMATS.join(', ')}`);
      const at = options.at === undefined ? new Date() : new Date(options.at);
      if (Number.isNaN(at.getTime())) throw new UserError('--at must be an RFC 3339 date-time, e.g. 2026-11-03T00:00:00Z');
      const config = ctx.loadConfig();
      const report = await withDatabase(ctx, async (db) =>
        holdersAt(db, (await resolveWorkspace(db, options.workspace)).id, { origin: config.auditLog.origin, signer: config.auditLog.signer }, options.permission, at),
      );
      ctx.io.stdout.write(options.format === 'csv' ? holdersCsv(report) : options.format === 'html' ? holdersHtml(report) : json(report));
    });
}
