import type { Command } from 'commander';
import { holdersCsv, holdersHtml, holdersReport } from '../services/reviews.service.js';
import { resolveWorkspace } from '../services/workspaces.service.js';
import { UserError, withDatabase, type CliContext } from './context.js';
import { json } from './format.js';

// `codex-scim review holders`: who held a permission or role (or was in a group) at an instant, as in GET /api/v1/reviews/holders.

const FORMATS = ['json', 'csv', 'html'] as const;

export function registerReviewCommands(program: Command, ctx: CliContext): void {
  const review = program.command('review').description('access reviews from the audit log');

  review
    .command('holders')
    .description('every user who held a permission or a role (or was in a group) at an instant, since when and why; the report on stdout')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--permission <key>', 'permission key, e.g. codex_admin')
    .option('--role <role>', 'instead of a permission: a role id or name')
    .option('--group <group>', 'instead of a permission: a group id or displayName')
    .option('--at <date-time>', 'the instant, RFC 3339 (default: now)')
    .option('--format <format>', `${FORMATS.join(', ')} (default json)`, 'json')
    .action(async (options: { workspace: string; permission?: string; role?: string; group?: string; at?: string; format: string }) => {
      if ([options.permission, options.role, options.group].filter((v) => v !== undefined).length !== 1) throw new UserError('name exactly one of --permission, --role or --group');
      if (!(FORMATS as readonly string[]).includes(options.format)) throw new UserError(`--format must be one of ${FORMATS.join(', ')}`);
      const at = options.at === undefined ? new Date() : new Date(options.at);
      if (Number.isNaN(at.getTime())) throw new UserError('--at must be an RFC 3339 date-time, e.g. 2026-11-03T00:00:00Z');
      const config = ctx.loadConfig();
      const seal = { origin: config.auditLog.origin, signer: config.auditLog.signer };
      const report = await withDatabase(ctx, async (db) => {
        const workspaceId = (await resolveWorkspace(db, options.workspace)).id;
        return holdersReport(db, workspaceId, seal, options, at);
      });
      ctx.io.stdout.write(options.format === 'csv' ? holdersCsv(report) : options.format === 'html' ? holdersHtml(report) : json(report));
    });
}
