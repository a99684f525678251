import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Static } from 'typebox';
import { Value } from 'typebox/value';
import { Declaration } from '../scim/schemas/declaration.js';
import * as scimSchemas from '../services/scim-schemas.service.js';
import { say, UserError, withDatabase, type CliContext } from './context.js';
import { json, table, timestamp } from './format.js';
import { resolveWorkspace } from '../services/workspaces.service.js';

// SCIM extension schemas and the unknown-attribute policy, as the admin API offers them
// (PUT/DELETE /api/v1/scim/schemas/{urn}, /api/v1/scim/settings), for operators at a shell.

function readDeclaration(file: string): Static<typeof Declaration> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not valid JSON`);
  }
  const errors = Value.Errors(Declaration, body);
  if (errors.length > 0) {
    throw new UserError(`${file} is not an extension declaration: ${errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
  }
  return body as Static<typeof Declaration>;
}

export function registerScimSchemaCommands(program: Command, ctx: CliContext): void {
  const command = program.command('scim-schema').description('declare SCIM extension schemas and choose what happens to undeclared attributes');

  command
    .command('declare')
    .description('declare an extension schema from a JSON file (name, resourceTypes, attributes), or replace its declaration')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .requiredOption('--urn <urn>', 'the schema URN, e.g. urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User')
    .requiredOption('--file <file>', 'the declaration as JSON (- for stdin), as PUT /api/v1/scim/schemas/{urn} takes it')
    .option('--force', 'proceed although stored values would lose their declaration (they are kept)')
    .action(async (options: { workspace: string; urn: string; file: string; force?: boolean }) => {
      const body = readDeclaration(options.file);
      const { created } = await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        return scimSchemas.putExtension(db, { workspaceId: workspace.id, actor: ctx.actor }, { ...body, urn: options.urn }, { force: options.force });
      });
      say(ctx, `${created ? 'Declared' : 'Updated'} ${options.urn}`);
    });

  command
    .command('list')
    .description('list the declared extension schemas')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .option('--json', 'print JSON')
    .action(async (options: { workspace: string; json?: boolean }) => {
      const list = await withDatabase(ctx, async (db) => scimSchemas.listExtensions(db, (await resolveWorkspace(db, options.workspace)).id));
      if (options.json) return void ctx.io.stdout.write(json(list));
      ctx.io.stdout.write(table(['URN', 'NAME', 'TYPES', 'ATTRIBUTES', 'UPDATED'], list.map((s) => [s.urn, s.name, s.resourceTypes.join(','), s.attributes.map((a) => a.name).join(','), timestamp(new Date(s.updatedAt))])));
    });

  command
    .command('remove')
    .description('remove a declared extension schema (stored values are kept, returned verbatim)')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .argument('<urn>', 'the schema URN')
    .option('--force', 'proceed although resources hold values of it')
    .action(async (urn: string, options: { workspace: string; force?: boolean }) => {
      await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        await scimSchemas.deleteExtension(db, { workspaceId: workspace.id, actor: ctx.actor }, urn, { force: options.force });
      });
      say(ctx, `Removed ${urn}`);
    });

  command
    .command('unknown-attributes')
    .description('set what happens to attributes no schema declares, or show the policy and what clients sent')
    .requiredOption('--workspace <workspace>', 'workspace name or id')
    .addOption(new Option('--policy <policy>', 'store: keep them verbatim; reject: 400 invalidValue').choices(['store', 'reject']))
    .action(async (options: { workspace: string; policy?: 'store' | 'reject' }) => {
      const { policy, seen } = await withDatabase(ctx, async (db) => {
        const workspace = await resolveWorkspace(db, options.workspace);
        const audit = { workspaceId: workspace.id, actor: ctx.actor };
        const settings = options.policy ? await scimSchemas.updateScimSettings(db, audit, { unknownAttributes: options.policy }) : await scimSchemas.getScimSettings(db, workspace.id);
        return { policy: settings.unknownAttributes, seen: await scimSchemas.listUnknownAttributes(db, workspace.id) };
      });
      say(ctx, `Attributes no schema declares: ${policy}`);
      ctx.io.stdout.write(table(['TYPE', 'ATTRIBUTE', 'REQUESTS', 'LAST SEEN'], seen.map((u) => [u.resourceType, u.name, String(u.requests), timestamp(new Date(u.lastSeenAt))])));
    });
}
