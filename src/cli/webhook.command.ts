import type { Command } from 'commander';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../services/webhooks.service.js';
import { resolveWorkspace } from '../services/workspaces.service.js';
import { say, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';

// `codex-scim webhook create | list | enable | disable | delete`: signed change webhooks
// (README "Webhooks"); the same service and audit events as the admin API.

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter((v) => v !== '');

export function registerWebhookCommands(program: Command, ctx: CliContext): void {
  const webhook = program.command('webhook').description('register, list, enable, disable and delete webhook endpoints');
  const audit = async (db: Parameters<typeof resolveWorkspace>[0], workspace: string) => ({ workspaceId: (await resolveWorkspace(db, workspace)).id, actor: ctx.actor });

  webhook
    .command('create')
    .description('register an endpoint; prints "id secret" on stdout, the signing secret shown only this once')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .requiredOption('--url <url>', 'https URL of the receiver')
    .requiredOption('--events <types>', 'comma-separated event types, e.g. access.changed,group.*')
    .option('--description <text>', 'a note for operators')
    .action(async (options: { workspace: string; url: string; events: string; description?: string }) => {
      const created = await withDatabase(ctx, async (db) =>
        createWebhook(db, await audit(db, options.workspace), ctx.loadConfig().webhooks, { url: options.url, eventTypes: list(options.events), description: options.description }),
      );
      ctx.io.stdout.write(`${created.webhook.id} ${created.secret}\n`);
      say(ctx, 'Verify webhook-signature with the secret (Standard Webhooks); deliveries start with the next change');
    });

  webhook
    .command('list')
    .description("a workspace's endpoints, never a secret")
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--json', 'print JSON')
    .action(async (options: { workspace: string; json?: boolean }) => {
      const endpoints = await withDatabase(ctx, async (db) => listWebhooks(db, (await resolveWorkspace(db, options.workspace)).id));
      if (options.json) ctx.io.stdout.write(json(endpoints));
      else {
        ctx.io.stdout.write(
          table(
            ['ID', 'STATUS', 'PENDING', 'URL', 'EVENTS', 'CREATED'],
            endpoints.map((e) => [e.id, e.enabled ? 'enabled' : `disabled: ${e.disabledReason ?? ''}`, String(e.pendingDeliveries), e.url, e.eventTypes.join(','), timestamp(e.createdAt)]),
          ),
        );
      }
    });

  for (const [name, enabled] of [['enable', true], ['disable', false]] as const) {
    webhook
      .command(name)
      .description(enabled ? 'resume deliveries (pending ones first)' : 'stop deliveries; new events are not queued while disabled')
      .requiredOption('--workspace <workspace>', 'workspace name or id')
      .argument('<id>', 'endpoint id (from webhook list)')
      .action(async (id: string, options: { workspace: string }) => {
        await withDatabase(ctx, async (db) => updateWebhook(db, await audit(db, options.workspace), ctx.loadConfig().webhooks, id, { enabled }));
        say(ctx, `${enabled ? 'Enabled' : 'Disabled'} webhook ${id}`);
      });
  }

  webhook
    .command('delete')
    .description('delete an endpoint and its delivery log')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .argument('<id>', 'endpoint id (from webhook list)')
    .action(async (id: string, options: { workspace: string }) => {
      await withDatabase(ctx, async (db) => deleteWebhook(db, await audit(db, options.workspace), id));
      say(ctx, `Deleted webhook ${id}`);
    });
}
