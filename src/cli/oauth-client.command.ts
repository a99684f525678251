import type { Command } from 'commander';
import { createOAuthClient, listOAuthClients, revokeOAuthClient } from '../services/oauth.service.js';
import { resolveWorkspace } from '../services/workspaces.service.js';
import { say, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';

// `codex-scim oauth-client create | list | revoke`: OAuth 2.0 clients (client credentials grant).

export function registerOAuthClientCommands(program: Command, ctx: CliContext): void {
  const oauth = program.command('oauth-client').description('create, list and revoke OAuth 2.0 clients for SCIM (client credentials grant)');

  oauth
    .command('create')
    .description('create a client; prints "client_id client_secret" on stdout, the secret shown only this once')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--description <text>', 'a note for operators, e.g. which IdP uses the client')
    .action(async (options: { workspace: string; description?: string }) => {
      const created = await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        return createOAuthClient(db, { workspaceId: workspace.id, description: options.description }, ctx.actor);
      });
      ctx.io.stdout.write(`${created.clientId} ${created.clientSecret}\n`);
      say(ctx, 'Trade them for an access token at POST /oauth/token (grant_type=client_credentials)');
    });

  oauth
    .command('list')
    .description("a workspace's clients, revoked ones included; never a secret")
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--json', 'print JSON')
    .action(async (options: { workspace: string; json?: boolean }) => {
      const clients = await withDatabase(ctx, async (db) => listOAuthClients(db, (await resolveWorkspace(db, options.workspace)).id));
      if (options.json) ctx.io.stdout.write(json(clients));
      else {
        ctx.io.stdout.write(
          table(
            ['CLIENT ID', 'STATUS', 'CREATED', 'LAST USED', 'DESCRIPTION'],
            clients.map((c) => [c.id, c.revokedAt ? 'revoked' : 'active', timestamp(c.createdAt), c.lastUsedAt ? timestamp(c.lastUsedAt) : '-', c.description ?? '']),
          ),
        );
      }
    });

  oauth
    .command('revoke')
    .description('revoke a client: its secret and access tokens stop working at once')
    .argument('<client-id>', 'client id (from oauth-client list)')
    .action(async (id: string) => {
      const result = await withDatabase(ctx, (db) => revokeOAuthClient(db, id, ctx.actor));
      say(ctx, result.alreadyRevoked ? `Client ${id} was already revoked` : `Revoked client ${id}`);
    });
}
