import { InvalidArgumentError, Option, type Command } from 'commander';
import { ADMIN_ROLES, createAdminToken, DEFAULT_ADMIN_TOKEN_DAYS, type AdminRole } from '../services/admin-tokens.service.js';
import { createToken, listTokens, MAX_ROTATION_OVERLAP_SECONDS, MAX_TOKEN_EXPIRY_DAYS, revokeToken, rotateToken, type TokenMetadata, type TokenScope } from '../services/tokens.service.js';
import { say, UserError, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';
import { resolveWorkspace } from '../services/workspaces.service.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function days(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_TOKEN_EXPIRY_DAYS) {
    throw new InvalidArgumentError(`expected a whole number of days from 1 to ${MAX_TOKEN_EXPIRY_DAYS}`);
  }
  return n;
}

function status(token: TokenMetadata, now: Date): string {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && token.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

interface CreateOptions {
  workspace: string;
  scope: TokenScope;
  role?: AdminRole;
  description?: string;
  expiresInDays?: number;
}

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('create, list, revoke and rotate API tokens');

  token
    .command('create')
    .description('create a token and print it alone on stdout; it is shown only this once')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .addOption(new Option('--scope <scope>', 'what the token may do').choices(['scim', 'decision', 'admin']).makeOptionMandatory())
    .addOption(new Option('--role <role>', 'admin tokens: the admin role the token carries').choices([...ADMIN_ROLES]))
    .option('--description <text>', 'a note for operators, e.g. which IdP uses the token')
    .option(
      '--expires-in-days <days>',
      `expire after this many days (1-${MAX_TOKEN_EXPIRY_DAYS}); default never for scim tokens, ${DEFAULT_ADMIN_TOKEN_DAYS} for admin tokens`,
      days,
    )
    .action(async (options: CreateOptions) => {
      // Checked before the database is opened: a command that cannot succeed changes nothing.
      if (options.scope === 'admin') {
        if (options.role === undefined) throw new UserError(`--scope admin needs --role (${ADMIN_ROLES.join(', ')})`);
        if (!ctx.loadConfig().adminJwtSecret) {
          throw new UserError('ADMIN_JWT_SECRET is not set: admin tokens are signed with it, in the CLI and the service alike (README "Admin API")');
        }
      } else if (options.role !== undefined) {
        throw new UserError('--role applies only to --scope admin tokens');
      }
      const now = new Date();
      const days = options.expiresInDays ?? (options.scope === 'admin' ? DEFAULT_ADMIN_TOKEN_DAYS : undefined);
      const expiresAt = days === undefined ? undefined : new Date(now.getTime() + days * DAY_MS);
      const { created, workspaceName } = await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        const input = { workspaceId: workspace.id, description: options.description };
        const created =
          options.scope === 'admin'
            ? await createAdminToken(db, ctx.loadConfig().adminJwtSecret, { ...input, role: options.role!, expiresAt: expiresAt! }, ctx.actor, now)
            : await createToken(db, { ...input, scope: options.scope, expiresAt }, ctx.actor, now);
        return { created, workspaceName: workspace.name };
      });
      // The secret alone on stdout, so `TOKEN=$(codex-scim token create ...)` captures exactly it.
      ctx.io.stdout.write(`${created.token}\n`);
      const what = options.scope === 'admin' ? `admin token (role ${options.role})` : `${options.scope} token`;
      say(ctx, `Created ${what} ${created.id} for workspace ${JSON.stringify(workspaceName)}` + (expiresAt ? `, expiring ${timestamp(expiresAt)}` : ''));
      say(ctx, 'Store the token now: it is not stored and cannot be shown again.');
    });

  token
    .command('list')
    .description('list tokens (metadata only; secrets are never stored)')
    .option('--workspace <workspace>', 'only this workspace (name or id)')
    .option('--json', 'print JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      const tokens = await withDatabase(ctx, async (db) => {
        const workspaceId = options.workspace === undefined ? undefined : (await resolveWorkspace(db, options.workspace)).id;
        return listTokens(db, { workspaceId });
      });
      const now = new Date();
      if (options.json) {
        ctx.io.stdout.write(
          json(
            tokens.map((t) => ({
              id: t.id,
              workspaceId: t.workspaceId,
              workspace: t.workspaceName,
              scope: t.scope,
              role: t.role,
              description: t.description,
              status: status(t, now),
              createdAt: t.createdAt.toISOString(),
              lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
              expiresAt: t.expiresAt?.toISOString() ?? null,
              revokedAt: t.revokedAt?.toISOString() ?? null,
            })),
          ),
        );
        return;
      }
      ctx.io.stdout.write(
        table(
          ['ID', 'WORKSPACE', 'SCOPE', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES', 'DESCRIPTION'],
          tokens.map((t) => [
            t.id,
            t.workspaceName,
            t.role ? `${t.scope}:${t.role}` : t.scope,
            status(t, now),
            timestamp(t.createdAt),
            timestamp(t.lastUsedAt),
            timestamp(t.expiresAt),
            t.description ?? '',
          ]),
        ),
      );
    });

  token
    .command('revoke')
    .description('revoke a token; revoking a revoked token changes nothing')
    .argument('<id>', 'token id (from token list)')
    .action(async (id: string) => {
      const result = await withDatabase(ctx, (db) => revokeToken(db, id, ctx.actor));
      say(
        ctx,
        result.alreadyRevoked
          ? `Token ${result.id} was already revoked at ${timestamp(result.revokedAt)}`
          : `Revoked token ${result.id}`,
      );
    });

  token
    .command('rotate')
    .description('replace a SCIM token: print the new one alone on stdout; the old one keeps working for the overlap')
    .argument('<id>', 'token id (from token list)')
    .option('--overlap-seconds <seconds>', `how long the old token still works, 0 to ${MAX_ROTATION_OVERLAP_SECONDS}`, seconds, 3600)
    .action(async (id: string, options: { overlapSeconds: number }) => {
      const rotated = await withDatabase(ctx, (db) => rotateToken(db, { id, overlapSeconds: options.overlapSeconds }, ctx.actor));
      ctx.io.stdout.write(`${rotated.token}\n`);
      say(ctx, `Token ${rotated.id} replaces ${rotated.replaces}, which works until ${timestamp(rotated.oldExpiresAt)}`);
    });
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_ROTATION_OVERLAP_SECONDS) throw new InvalidArgumentError(`expected a whole number of seconds from 0 to ${MAX_ROTATION_OVERLAP_SECONDS}`);
  return n;
}
