import { sql } from 'kysely';
import type { Executor } from '../db/index.js';
import type { ResourceKind } from '../scim/schemas/index.js';
import type { AttributeDeclaration } from '../scim/schemas/declaration.js';

// Extension schema declarations, the workspace's unknown-attribute policy, and the tally of
// unknown attributes clients sent (migrations/2026120101_scim_extensions.ts).

export interface ExtensionSchemaRow {
  urn: string;
  name: string;
  description: string;
  resourceTypes: ResourceKind[];
  attributes: AttributeDeclaration[];
  createdAt: Date;
  updatedAt: Date;
}

export async function listExtensionSchemas(db: Executor, workspaceId: string): Promise<ExtensionSchemaRow[]> {
  const rows = await db
    .selectFrom('scim_extension_schemas')
    .select(['urn', 'name', 'description', 'resource_types', 'attributes', 'created_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .orderBy('urn')
    .execute();
  return rows.map(toRow);
}

/** The declaration of this URN (any case), locked for the rest of the transaction when asked. */
export async function findExtensionSchema(db: Executor, workspaceId: string, urn: string, options: { lock?: boolean } = {}): Promise<ExtensionSchemaRow | undefined> {
  let query = db
    .selectFrom('scim_extension_schemas')
    .select(['urn', 'name', 'description', 'resource_types', 'attributes', 'created_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .where(sql<string>`lower(urn)`, '=', urn.toLowerCase());
  if (options.lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toRow(row);
}

function toRow(row: { urn: string; name: string; description: string; resource_types: unknown; attributes: unknown; created_at: Date; updated_at: Date }): ExtensionSchemaRow {
  return {
    urn: row.urn,
    name: row.name,
    description: row.description,
    resourceTypes: row.resource_types as ResourceKind[],
    attributes: row.attributes as AttributeDeclaration[],
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export async function insertExtensionSchema(db: Executor, workspaceId: string, row: Omit<ExtensionSchemaRow, 'createdAt' | 'updatedAt'>): Promise<void> {
  await db
    .insertInto('scim_extension_schemas')
    .values({
      workspace_id: workspaceId,
      urn: row.urn,
      name: row.name,
      description: row.description,
      resource_types: JSON.stringify(row.resourceTypes),
      attributes: JSON.stringify(row.attributes),
    })
    .execute();
}

export async function updateExtensionSchema(db: Executor, workspaceId: string, row: Omit<ExtensionSchemaRow, 'createdAt' | 'updatedAt'>): Promise<void> {
  await db
    .updateTable('scim_extension_schemas')
    .set({
      name: row.name,
      description: row.description,
      resource_types: JSON.stringify(row.resourceTypes),
      attributes: JSON.stringify(row.attributes),
      updated_at: sql`now()`,
    })
    .where('workspace_id', '=', workspaceId)
    .where('urn', '=', row.urn)
    .execute();
}

export async function deleteExtensionSchema(db: Executor, workspaceId: string, urn: string): Promise<void> {
  await db.deleteFrom('scim_extension_schemas').where('workspace_id', '=', workspaceId).where('urn', '=', urn).execute();
}

/** Marks the workspace's SCIM schemas changed (every instance reloads them on its next request). */
export async function bumpSchemaVersion(db: Executor, workspaceId: string): Promise<void> {
  await db
    .updateTable('workspaces')
    .set((eb) => ({ scim_schema_version: eb('scim_schema_version', '+', 1) }))
    .where('id', '=', workspaceId)
    .execute();
}

export async function getUnknownAttributePolicy(db: Executor, workspaceId: string): Promise<'store' | 'reject'> {
  const row = await db.selectFrom('workspaces').select('scim_unknown_attributes').where('id', '=', workspaceId).executeTakeFirstOrThrow();
  return row.scim_unknown_attributes;
}

/** Sets the policy and returns the one it replaced (the workspace row stays locked until commit). */
export async function setUnknownAttributePolicy(db: Executor, workspaceId: string, policy: 'store' | 'reject'): Promise<'store' | 'reject'> {
  const before = await db.selectFrom('workspaces').select('scim_unknown_attributes').where('id', '=', workspaceId).forUpdate().executeTakeFirstOrThrow();
  await db
    .updateTable('workspaces')
    .set((eb) => ({ scim_unknown_attributes: policy, scim_schema_version: eb('scim_schema_version', '+', 1) }))
    .where('id', '=', workspaceId)
    .execute();
  return before.scim_unknown_attributes;
}

/**
 * How many resources hold a value under this extension URN (or, with `attribute`, under that
 * attribute of it). Stored keys use the declared spelling, so jsonb's exact-key `?` applies.
 */
export async function countResourcesWithValues(db: Executor, workspaceId: string, kind: ResourceKind, urn: string, attribute?: string): Promise<number> {
  const table = kind === 'User' ? 'users' : 'groups';
  const holds = attribute === undefined ? sql<boolean>`resource ? ${urn}` : sql<boolean>`(resource -> ${urn}) ? ${attribute}`;
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where(holds)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Whether another resource of the workspace holds this value of a single-valued extension
 * attribute. The caller holds a transaction-scoped advisory lock on the attribute, so two
 * writers of the same value cannot both find it free.
 */
export async function valueTakenByOther(
  db: Executor,
  workspaceId: string,
  kind: ResourceKind,
  target: { urn: string; attribute: string; value: string; caseExact: boolean; exceptId?: string },
): Promise<boolean> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${workspaceId}:${kind}:${target.urn}:${target.attribute}`.toLowerCase()}, 0))`.execute(db);
  const table = kind === 'User' ? 'users' : 'groups';
  const stored = sql<string>`(resource -> ${target.urn}) ->> ${target.attribute}`;
  const same = target.caseExact ? sql<boolean>`${stored} = ${target.value}` : sql<boolean>`lower(${stored}) = lower(${target.value})`;
  let query = db.selectFrom(table).select('id').where('workspace_id', '=', workspaceId).where(same).limit(1);
  if (target.exceptId !== undefined) query = query.where('id', '<>', target.exceptId);
  return (await query.executeTakeFirst()) !== undefined;
}

/** Counts one more request that carried each of these undeclared attributes. */
export async function recordUnknownAttributes(db: Executor, workspaceId: string, kind: ResourceKind, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await db
    .insertInto('scim_unknown_attributes')
    .values(names.map((name) => ({ workspace_id: workspaceId, resource_type: kind, name, requests: 1 })))
    .onConflict((oc) =>
      oc.columns(['workspace_id', 'resource_type', 'name']).doUpdateSet((eb) => ({
        requests: eb('scim_unknown_attributes.requests', '+', 1),
        last_seen_at: sql`now()`,
      })),
    )
    .execute();
}

export interface UnknownAttributeRow {
  resourceType: string;
  name: string;
  requests: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export async function listUnknownAttributes(db: Executor, workspaceId: string): Promise<UnknownAttributeRow[]> {
  const rows = await db
    .selectFrom('scim_unknown_attributes')
    .select(['resource_type', 'name', 'requests', 'first_seen_at', 'last_seen_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('resource_type')
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ resourceType: r.resource_type, name: r.name, requests: Number(r.requests), firstSeenAt: new Date(r.first_seen_at), lastSeenAt: new Date(r.last_seen_at) }));
}
