import { Command, CommanderError, Help, type Option } from 'commander';
import { ConfigError, type Config } from '../config/index.js';
import { createDb, type DbHandle } from '../db/index.js';
import { DataDirLockedError } from '../db/pglite-lock.js';
import { isDatabaseUnavailable } from '../plugins/request-errors.js';
import { DomainError } from '../services/admin-errors.js';
import { AdminTokenError } from '../services/admin-tokens.service.js';
import { TokenError } from '../services/tokens.service.js';
import { registerAuditCommands } from './audit.command.js';
import { cliActor, UserError, type CliContext, type CliIo } from './context.js';
import { registerInitCommand } from './init.command.js';
import { registerMigrateCommand } from './migrate.command.js';
import { registerOAuthClientCommands } from './oauth-client.command.js';
import { registerReviewCommands } from './review.command.js';
import { registerScimSchemaCommands } from './scim-schema.command.js';
import { registerTokenCommands } from './token.command.js';
import { registerWebhookCommands } from './webhook.command.js';
import { registerWorkspaceCommands } from './workspace.command.js';
import { WorkspaceError } from '../services/workspaces.service.js';
import { VERSION } from '../version.js';

/** Exit codes: 1 for an operation that failed, 2 for a command line that does not parse (as getopt tools do). */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USER_ERRORS = [UserError, WorkspaceError, TokenError, AdminTokenError, DomainError, ConfigError, DataDirLockedError];
// Beside an unreachable server: PostgreSQL's connection-time refusals (bad password, missing database).
const REFUSED_CODES = new Set(['28P01', '28000', '3D000']);

function buildProgram(ctx: CliContext): Command {
  const program = new Command('codex-scim')
    .description('Administer codex-scim-bridge: workspaces and API tokens. Uses the same DATABASE_URL / DATA_DIR as the service.')
    // Settings copied to subcommands as they are added.
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureHelp({
      // Commander lists a mandatory option like any other; say so in its help line.
      optionDescription(option: Option) {
        const text = Help.prototype.optionDescription.call(this, option);
        return option.mandatory ? `${text} (required)` : text;
      },
    })
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)');
  registerMigrateCommand(program, ctx);
  registerInitCommand(program, ctx);
  registerWorkspaceCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerOAuthClientCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerScimSchemaCommands(program, ctx);
  registerWebhookCommands(program, ctx);
  registerReviewCommands(program, ctx);
  return program;
}

/** Removes DATABASE_URL and its password from text that is about to be printed. */
function redact(text: string, databaseUrl: string | undefined): string {
  if (!databaseUrl) return text;
  let out = text.split(databaseUrl).join('[DATABASE_URL]');
  try {
    const password = new URL(databaseUrl).password;
    if (password) {
      for (const form of new Set([password, decodeURIComponent(password)])) out = out.split(form).join('***');
    }
  } catch {
    // loadConfig validated the URL; nothing else to hide if it does not parse.
  }
  return out;
}

function describe(error: unknown): { message: string; expected: boolean } {
  if (USER_ERRORS.some((type) => error instanceof type)) return { message: (error as Error).message, expected: true };
  const err = error as (Error & { code?: string; errors?: unknown[] }) | undefined;
  // pg reports a refused connection to a host with several addresses as an AggregateError without a message.
  const inner = err instanceof AggregateError ? (err.errors[0] as (Error & { code?: string }) | undefined) : undefined;
  const message = err?.message || inner?.message || String(error);
  const code = err?.code ?? inner?.code;
  if (isDatabaseUnavailable(error) || (code && REFUSED_CODES.has(code))) {
    return { message: `Cannot use the PostgreSQL database in DATABASE_URL: ${message}`, expected: true };
  }
  return { message: `Unexpected failure: ${message}`, expected: false };
}

/** Runs one command line; resolves to the process exit code. Never throws. */
export async function runCli(
  argv: string[],
  options: { io: CliIo; loadConfig: () => Config; openDb?: (config: Config) => Promise<DbHandle> },
): Promise<number> {
  let config: Config | undefined;
  const ctx: CliContext = {
    io: options.io,
    actor: cliActor(),
    loadConfig: () => (config ??= options.loadConfig()),
    openDb: options.openDb ?? createDb,
  };
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its own usage errors, help and version.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    const { message, expected } = describe(error);
    const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
    ctx.io.stderr.write(`error: ${redact(oneLine, config?.databaseUrl)}\n`);
    if (!expected && (config?.logLevel === 'debug' || config?.logLevel === 'trace') && error instanceof Error && error.stack) {
      ctx.io.stderr.write(`${redact(error.stack, config.databaseUrl)}\n`);
    }
    return EXIT_FAILED;
  }
}
