import { sql, type Kysely } from 'kysely';

// SCIM schema extensions a workspace declares (RFC 7643 §3.3, §7), its policy for attributes no
// schema declares, and the tally of such attributes that clients sent.

export async function up(db: Kysely<any>): Promise<void> {
  // Bumped in the transaction of every change to the declarations or the policy, and read with the
  // SCIM token on every request, so each instance knows when its cached schemas are stale.
  await db.schema.alterTable('workspaces').addColumn('scim_schema_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .alterTable('workspaces')
    .addColumn('scim_unknown_attributes', 'text', (c) => c.notNull().defaultTo('store').check(sql`scim_unknown_attributes in ('store', 'reject')`))
    .execute();

  await db.schema
    .createTable('scim_extension_schemas')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    // As first declared; stored resources keep their values under exactly this key.
    .addColumn('urn', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // ['User'], ['Group'] or both.
    .addColumn('resource_types', 'jsonb', (c) => c.notNull())
    // RFC 7643 §7 attribute definitions.
    .addColumn('attributes', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index scim_extension_schemas_urn_key on scim_extension_schemas (workspace_id, lower(urn))`.execute(db);

  await db.schema
    .createTable('scim_unknown_attributes')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('resource_type', 'text', (c) => c.notNull())
    // The attribute path as sent (`urn:…:CustomExt:2.0:User:badge`, `nickname2`).
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('scim_unknown_attributes_pkey', ['workspace_id', 'resource_type', 'name'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('scim_unknown_attributes').execute();
  await db.schema.dropTable('scim_extension_schemas').execute();
  await db.schema.alterTable('workspaces').dropColumn('scim_unknown_attributes').execute();
  await db.schema.alterTable('workspaces').dropColumn('scim_schema_version').execute();
}
