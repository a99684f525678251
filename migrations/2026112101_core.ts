import { sql, type Kysely } from 'kysely';

// Workspaces, tokens, SCIM users, groups and memberships.
// SCIM attributes live in a `resource` jsonb document (everything the client sent except id, meta,
// password and the derived `groups`); the columns beside it exist for uniqueness, indexing and
// the attributes the server owns.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    // 'scim' tokens provision over SCIM; admin tokens carry an admin role (owner, codex-admin, compliance).
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('description', 'text')
    // SHA-256 of the secret; the secret itself is shown once and never stored.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_tokens_workspace_idx').on('api_tokens').column('workspace_id').execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('resource', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // userName is unique per workspace, case-insensitively (RFC 7643 §4.1.1: caseExact false).
  await sql`create unique index users_workspace_user_name_key on users (workspace_id, lower(user_name))`.execute(db);
  await db.schema.createIndex('users_workspace_external_id_idx').on('users').columns(['workspace_id', 'external_id']).execute();
  await db.schema.createIndex('users_workspace_created_idx').on('users').columns(['workspace_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('resource', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index groups_workspace_display_name_key on groups (workspace_id, lower(display_name))`.execute(db);
  await db.schema.createIndex('groups_workspace_external_id_idx').on('groups').columns(['workspace_id', 'external_id']).execute();
  await db.schema.createIndex('groups_workspace_created_idx').on('groups').columns(['workspace_id', 'created_at', 'id']).execute();

  // One row per membership: a PATCH touches only the rows it names, never a whole member list.
  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'uuid', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('group_members_pkey', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_members_user_idx').on('group_members').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['group_members', 'groups', 'users', 'api_tokens', 'workspaces']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
