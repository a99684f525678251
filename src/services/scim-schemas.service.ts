import { isDeepStrictEqual } from 'node:util';
import type { AuditContext, NewAuditEvent } from '../audit/types.js';
import type { Db, Executor } from '../db/index.js';
import { commit } from './commit.js';
import { isUniqueViolation } from '../repositories/errors.js';
import * as repo from '../repositories/scim-schemas.repository.js';
import { declarationProblems, toSchemaDef, type AttributeDeclaration, type ExtensionDeclaration } from '../scim/schemas/declaration.js';
import {
  BUILTIN_SCHEMAS,
  withExtensions,
  type ResourceKind,
  type ResourceSchema,
  type SchemaDef,
  type UnknownAttributePolicy,
} from '../scim/schemas/index.js';
import { ScimError } from '../scim/errors.js';
import { addedUnknownAttributes, type StoredResource } from '../scim/resource.js';
import { DomainError, conflict, notFound } from './admin-errors.js';
import type { ScimContext } from './context.js';

// The SCIM schemas of a workspace: the built-in ones plus the extensions its admins declare, and
// its policy for attributes nobody declared. SCIM requests read them through a per-app cache that
// the version on the workspace row (read with the token on every request) keeps current across
// instances; every change here bumps that version in its own transaction.

export interface WorkspaceSchemas {
  version: number;
  user: ResourceSchema;
  group: ResourceSchema;
  /** Every schema of the workspace, built-in first, as /Schemas lists them. */
  all: SchemaDef[];
}

export function buildWorkspaceSchemas(version: number, rows: readonly repo.ExtensionSchemaRow[], policy: UnknownAttributePolicy): WorkspaceSchemas {
  const declared = rows.map((row) => ({ def: toSchemaDef(row), kinds: row.resourceTypes }));
  const forKind = (kind: ResourceKind) => declared.filter((d) => d.kinds.includes(kind)).map((d) => d.def);
  return {
    version,
    user: withExtensions('User', forKind('User'), policy),
    group: withExtensions('Group', forKind('Group'), policy),
    all: [...BUILTIN_SCHEMAS, ...declared.map((d) => d.def)],
  };
}

/** A workspace that declared nothing, with the default `store` policy. */
export const DEFAULT_WORKSPACE_SCHEMAS = buildWorkspaceSchemas(0, [], 'store');

export interface SchemaCache {
  /** The workspace's schemas as of `version` (what the request's token lookup read). */
  get(db: Executor, workspaceId: string, version: number, policy: UnknownAttributePolicy): Promise<WorkspaceSchemas>;
}

export function createSchemaCache(): SchemaCache {
  const entries = new Map<string, { key: string; schemas: Promise<WorkspaceSchemas> }>();
  return {
    async get(db, workspaceId, version, policy) {
      const key = `${version}:${policy}`;
      const cached = entries.get(workspaceId);
      if (cached?.key === key) return cached.schemas;
      const schemas = repo.listExtensionSchemas(db, workspaceId).then((rows) => buildWorkspaceSchemas(version, rows, policy));
      entries.set(workspaceId, { key, schemas });
      schemas.catch(() => entries.delete(workspaceId));
      return schemas;
    },
  };
}

/** The workspace's schemas as they stand, read without the cache (for the rare request that has no token). */
export async function workspaceSchemas(db: Executor, workspaceId: string): Promise<WorkspaceSchemas> {
  const [rows, policy] = await Promise.all([repo.listExtensionSchemas(db, workspaceId), repo.getUnknownAttributePolicy(db, workspaceId)]);
  return buildWorkspaceSchemas(0, rows, policy);
}

/**
 * RFC 7643 §2.2 uniqueness of declared extension attributes: a write whose resource holds a value
 * another resource of the workspace already holds is 409 uniqueness. Checked in the write's
 * transaction, under an advisory lock per attribute, for each such value the resource holds.
 */
export async function checkUniqueExtensionValues(trx: Executor, ctx: ScimContext, schema: ResourceSchema, resource: StoredResource, exceptId?: string): Promise<void> {
  for (const extension of schema.extensions) {
    const values = resource[extension.id];
    if (values === null || typeof values !== 'object') continue;
    for (const def of extension.attributes) {
      if (def.uniqueness === 'none' || def.multiValued || def.type === 'complex') continue;
      const value = (values as Record<string, unknown>)[def.name];
      if (value === undefined || value === null) continue;
      // Unique attributes are scalars: a string as it is, anything else compares as its JSON.
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (await repo.valueTakenByOther(trx, ctx.workspaceId, schema.kind, { urn: extension.id, attribute: def.name, value: text, caseExact: def.caseExact, exceptId })) {
        throw ScimError.of('uniqueness', `${extension.id}:${def.name} ${JSON.stringify(value)} is already taken in this workspace`);
      }
    }
  }
}

const MAX_REPORTED_PER_REQUEST = 100;

/**
 * Reports the undeclared attributes a write stored that were not stored before: a log line naming
 * them and a per-attribute request count admins read (GET /api/v1/scim/unknown-attributes). Run
 * after the write commits and outside its transaction: the tally is a report, not part of the
 * change, and a counter row shared by every request must not hold up the workspace's writes.
 */
export async function reportUnknownAttributes(ctx: ScimContext, schema: ResourceSchema, before: StoredResource | undefined, after: StoredResource): Promise<void> {
  const names = addedUnknownAttributes(schema, before, after).sort().slice(0, MAX_REPORTED_PER_REQUEST);
  if (names.length === 0) return;
  ctx.log?.warn({ resourceType: schema.kind, attributes: names }, 'SCIM request carried attributes no schema declares; stored verbatim');
  try {
    await repo.recordUnknownAttributes(ctx.db, ctx.workspaceId, schema.kind, names);
  } catch (error) {
    ctx.log?.warn({ err: error }, 'could not count unknown SCIM attributes');
  }
}

// ---------------------------------------------------------------------------------------------
// Admin use-cases.

export interface ExtensionSchemaView {
  urn: string;
  name: string;
  description: string;
  resourceTypes: ResourceKind[];
  attributes: AttributeDeclaration[];
  createdAt: string;
  updatedAt: string;
}

function toView(row: repo.ExtensionSchemaRow): ExtensionSchemaView {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

function declarationOf(row: Omit<repo.ExtensionSchemaRow, 'createdAt' | 'updatedAt'>): Record<string, unknown> {
  return { name: row.name, description: row.description, resourceTypes: row.resourceTypes, attributes: row.attributes };
}

export async function listExtensions(db: Db, workspaceId: string): Promise<ExtensionSchemaView[]> {
  return (await repo.listExtensionSchemas(db, workspaceId)).map(toView);
}

export async function getExtension(db: Db, workspaceId: string, urn: string): Promise<ExtensionSchemaView> {
  const row = await repo.findExtensionSchema(db, workspaceId, urn);
  if (!row) throw notFound('SCIM extension schema', urn);
  return toView(row);
}

function invalidDeclaration(problems: { pointer: string; message: string }[]): DomainError {
  const detail = problems.map((p) => `${p.pointer}: ${p.message}`).join('; ');
  return new DomainError('invalid', `The extension schema is not valid: ${detail}`, problems.map((p) => ({ pointer: p.pointer, detail: p.message })));
}

/**
 * Where a change would leave stored values without their declaration: the attributes a new
 * declaration drops or retypes, per resource type, with how many resources hold values there.
 * Values are never deleted; they stay in the resources (and are returned verbatim), but they
 * are no longer validated, filtered or sorted, so the admin has to say so (force).
 */
async function orphanedValues(trx: Executor, workspaceId: string, before: repo.ExtensionSchemaRow, after?: ExtensionDeclaration): Promise<Record<string, number>> {
  const affected: Record<string, number> = {};
  for (const kind of before.resourceTypes) {
    if (after === undefined || !after.resourceTypes.includes(kind)) {
      const n = await repo.countResourcesWithValues(trx, workspaceId, kind, before.urn);
      if (n > 0) affected[kind] = n;
      continue;
    }
    for (const old of before.attributes) {
      const next = after.attributes.find((a) => a.name.toLowerCase() === old.name.toLowerCase());
      if (next && next.type === old.type && Boolean(next.multiValued) === Boolean(old.multiValued) && next.name === old.name) continue;
      const n = await repo.countResourcesWithValues(trx, workspaceId, kind, before.urn, old.name);
      if (n > 0) affected[`${kind}:${old.name}`] = n;
    }
  }
  return affected;
}

function refuseOrphans(urn: string, affected: Record<string, number>): DomainError {
  const list = Object.entries(affected).map(([where, n]) => `${where} (${n})`).join(', ');
  return conflict(`Stored values would lose their declaration in ${urn}: ${list}. They are kept either way; repeat with force=true to proceed.`);
}

/** Declares an extension schema, or replaces the declaration of one (PUT semantics). */
export async function putExtension(db: Db, audit: AuditContext, declaration: ExtensionDeclaration, options: { force?: boolean } = {}): Promise<{ view: ExtensionSchemaView; created: boolean }> {
  const problems = declarationProblems(declaration);
  if (problems.length > 0) throw invalidDeclaration(problems);
  const { workspaceId } = audit;
  try {
    return await db.transaction().execute(async (trx) => {
      const before = await repo.findExtensionSchema(trx, workspaceId, declaration.urn, { lock: true });
      const row = { urn: before?.urn ?? declaration.urn, name: declaration.name, description: declaration.description ?? '', resourceTypes: declaration.resourceTypes, attributes: declaration.attributes };
      let event: NewAuditEvent;
      if (before === undefined) {
        await repo.insertExtensionSchema(trx, workspaceId, row);
        event = { type: 'scim.extension_declared', targetType: 'workspace', targetId: workspaceId, data: { urn: row.urn, after: declarationOf(row) } };
      } else {
        if (isDeepStrictEqual(declarationOf(before), declarationOf(row))) return { view: toView(before), created: false };
        const affected = await orphanedValues(trx, workspaceId, before, { ...declaration, urn: row.urn });
        if (Object.keys(affected).length > 0 && !options.force) throw refuseOrphans(row.urn, affected);
        await repo.updateExtensionSchema(trx, workspaceId, row);
        const data: Record<string, unknown> = { urn: row.urn, before: declarationOf(before), after: declarationOf(row) };
        if (Object.keys(affected).length > 0) Object.assign(data, { forced: true, affected });
        event = { type: 'scim.extension_changed', targetType: 'workspace', targetId: workspaceId, data };
      }
      await repo.bumpSchemaVersion(trx, workspaceId);
      await commit(trx, audit, [event]);
      return { view: toView((await repo.findExtensionSchema(trx, workspaceId, row.urn))!), created: before === undefined };
    });
  } catch (error) {
    // Two admins declaring the same new URN at once: the second one sees it exists.
    if (isUniqueViolation(error)) throw conflict(`The extension schema ${declaration.urn} was declared concurrently; read it and retry`);
    throw error;
  }
}

export async function deleteExtension(db: Db, audit: AuditContext, urn: string, options: { force?: boolean } = {}): Promise<void> {
  const { workspaceId } = audit;
  await db.transaction().execute(async (trx) => {
    const before = await repo.findExtensionSchema(trx, workspaceId, urn, { lock: true });
    if (!before) throw notFound('SCIM extension schema', urn);
    const affected = await orphanedValues(trx, workspaceId, before);
    if (Object.keys(affected).length > 0 && !options.force) throw refuseOrphans(before.urn, affected);
    await repo.deleteExtensionSchema(trx, workspaceId, before.urn);
    await repo.bumpSchemaVersion(trx, workspaceId);
    const data: Record<string, unknown> = { urn: before.urn, before: declarationOf(before) };
    if (Object.keys(affected).length > 0) Object.assign(data, { forced: true, affected });
    await commit(trx, audit, [{ type: 'scim.extension_removed', targetType: 'workspace', targetId: workspaceId, data }]);
  });
}

export interface ScimSettingsView {
  unknownAttributes: UnknownAttributePolicy;
}

export async function getScimSettings(db: Db, workspaceId: string): Promise<ScimSettingsView> {
  return { unknownAttributes: await repo.getUnknownAttributePolicy(db, workspaceId) };
}

export async function updateScimSettings(db: Db, audit: AuditContext, change: ScimSettingsView): Promise<ScimSettingsView> {
  await db.transaction().execute(async (trx) => {
    const before = await repo.setUnknownAttributePolicy(trx, audit.workspaceId, change.unknownAttributes);
    if (before === change.unknownAttributes) return;
    await commit(trx, audit, [
      {
        type: 'workspace.settings_changed',
        targetType: 'workspace',
        targetId: audit.workspaceId,
        data: { changed: ['scimUnknownAttributes'], before: { scimUnknownAttributes: before }, after: { scimUnknownAttributes: change.unknownAttributes } },
      },
    ]);
  });
  return change;
}

export async function listUnknownAttributes(db: Db, workspaceId: string) {
  return (await repo.listUnknownAttributes(db, workspaceId)).map((r) => ({ ...r, firstSeenAt: r.firstSeenAt.toISOString(), lastSeenAt: r.lastSeenAt.toISOString() }));
}
