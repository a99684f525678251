import { sql, type Kysely } from 'kysely';

// The access model: a permission catalogue per workspace, custom roles with a per-
// permission allow/deny (absence = inherit the baseline), group → role mappings, direct role
// assignments, the workspace's resolution settings, and the materialised effective access of
// every user. The rules themselves live in src/access/ (pure) and in the recompute SQL of
// src/repositories/access.repository.ts, which must agree.

export async function up(db: Kysely<any>): Promise<void> {
  // The catalogue is data: Codex adds toggles every few months, admins add them here.
  await db.schema
    .createTable('permissions')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    // Lower-case ASCII: keys sort the same in JavaScript and in SQL (`collate "C"`), and are safe in URLs.
    .addColumn('key', 'text', (c) => c.notNull().check(sql`key ~ '^[a-z][a-z0-9_]{0,63}$'`))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // What "inherit" means: the value a user gets when none of their roles allows or denies it.
    .addColumn('baseline', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('permissions_pkey', ['workspace_id', 'key'])
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The target of the composite foreign keys below: a role is only ever used in its own workspace.
    .addUniqueConstraint('roles_workspace_id_key', ['workspace_id', 'id'])
    .execute();
  await sql`create unique index roles_workspace_name_key on roles (workspace_id, lower(name))`.execute(db);

  // One row per (role, permission) the role decides; a missing row is "inherit".
  await db.schema
    .createTable('role_permissions')
    .addColumn('role_id', 'uuid', (c) => c.notNull())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('permission_key', 'text', (c) => c.notNull())
    .addColumn('effect', 'text', (c) => c.notNull().check(sql`effect in ('allow', 'deny')`))
    .addPrimaryKeyConstraint('role_permissions_pkey', ['role_id', 'permission_key'])
    .addForeignKeyConstraint('role_permissions_role_fkey', ['workspace_id', 'role_id'], 'roles', ['workspace_id', 'id'], (fk) => fk.onDelete('cascade'))
    .addForeignKeyConstraint('role_permissions_permission_fkey', ['workspace_id', 'permission_key'], 'permissions', ['workspace_id', 'key'], (fk) =>
      fk.onDelete('cascade').onUpdate('cascade'),
    )
    .execute();
  await db.schema.createIndex('role_permissions_permission_idx').on('role_permissions').columns(['workspace_id', 'permission_key']).execute();

  // A mapping names its group in exactly one way. By id: that group, for good. By externalId: every
  // group the IdP gives that externalId. By displayName (case-insensitive, like the groups' own
  // uniqueness): whichever group bears the name now — it can exist before the IdP pushes the group,
  // and it follows renames, which is why a rename recomputes (and audits) its members' access.
  // No foreign key to groups: a mapping outlives the group it named (and says so when listed) rather
  // than disappearing without a mapping.deleted event when the IdP deletes the group.
  await db.schema
    .createTable('role_mappings')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('role_id', 'uuid', (c) => c.notNull())
    .addColumn('group_id', 'uuid')
    .addColumn('group_external_id', 'text')
    .addColumn('group_display_name', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('role_mappings_role_fkey', ['workspace_id', 'role_id'], 'roles', ['workspace_id', 'id'], (fk) => fk.onDelete('cascade'))
    .addCheckConstraint('role_mappings_one_group_ref', sql`num_nonnulls(group_id, group_external_id, group_display_name) = 1`)
    .execute();
  await sql`create unique index role_mappings_group_id_key on role_mappings (role_id, group_id) where group_id is not null`.execute(db);
  await sql`create unique index role_mappings_group_external_id_key on role_mappings (role_id, group_external_id) where group_external_id is not null`.execute(db);
  await sql`create unique index role_mappings_group_display_name_key on role_mappings (role_id, lower(group_display_name)) where group_display_name is not null`.execute(db);
  // The recompute joins groups to mappings by each kind of reference.
  await sql`create index role_mappings_workspace_group_id_idx on role_mappings (workspace_id, group_id) where group_id is not null`.execute(db);
  await sql`create index role_mappings_workspace_external_id_idx on role_mappings (workspace_id, group_external_id) where group_external_id is not null`.execute(db);
  await sql`create index role_mappings_workspace_display_name_idx on role_mappings (workspace_id, lower(group_display_name)) where group_display_name is not null`.execute(db);

  // Direct assignments. They go with the user (a deleted user holds nothing) and with the role.
  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', 'uuid', (c) => c.notNull())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_roles_pkey', ['user_id', 'role_id'])
    .addForeignKeyConstraint('user_roles_role_fkey', ['workspace_id', 'role_id'], 'roles', ['workspace_id', 'id'], (fk) => fk.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('user_roles_role_idx').on('user_roles').column('role_id').execute();

  // A table rather than keys in workspaces.settings: the strategy gets a CHECK, the default role a
  // foreign key (the database refuses to delete the default role, and refuses another workspace's
  // role), and the recompute SQL joins typed columns. The row's existence also marks a workspace
  // whose access model has been seeded.
  await db.schema
    .createTable('workspace_access_settings')
    .addColumn('workspace_id', 'uuid', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
    .addColumn('strategy', 'text', (c) =>
      c.notNull().defaultTo('most-permissive').check(sql`strategy in ('most-permissive', 'deny-overrides')`),
    )
    .addColumn('default_role_id', 'uuid')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('workspace_access_settings_default_role_fkey', ['workspace_id', 'default_role_id'], 'roles', ['workspace_id', 'id'])
    .execute();

  // The materialised effective access of every user, rewritten in the transaction of each change
  // that can alter it. `granted` is sorted (collate "C"); `role_ids` are the roles the user ends up
  // with (the default role included), sorted. No foreign key to users: the row of a deleted user is
  // removed by the recompute that records its access ending, in the same transaction as the delete.
  // Two indexes only — a 50,000-member PUT rewrites 50,000 rows, and every index costs a random
  // insert per row: the primary key serves lookups and the holders' keyset order per workspace.
  await db.schema
    .createTable('user_access')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('granted', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('role_ids', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'::uuid[]`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_access_pkey', ['workspace_id', 'user_id'])
    .execute();
  // Holders of a permission: `granted @> array[key]` through the GIN index, or for a common
  // permission the primary key in user_id order, filtered.
  await sql`create index user_access_granted_idx on user_access using gin (granted)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['user_access', 'workspace_access_settings', 'user_roles', 'role_mappings', 'role_permissions', 'roles', 'permissions']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
