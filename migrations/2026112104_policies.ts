import { sql, type Kysely } from 'kysely';

// Managed policies: requirements.toml documents with immutable versions, the ordered
// group → policy rules plus a fallback per workspace, and the per-user snapshot of the policy in
// effect, which is what makes effective-policy changes auditable.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policies')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // The version users get. Every saved edit of the TOML adds a version and moves this forward.
    .addColumn('current_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The target of the composite foreign keys below, which keep rules in their policy's workspace.
    .addUniqueConstraint('policies_workspace_id_key', ['workspace_id', 'id'])
    .execute();
  await sql`create unique index policies_workspace_name_key on policies (workspace_id, lower(name))`.execute(db);

  await db.schema
    .createTable('policy_versions')
    .addColumn('policy_id', 'uuid', (c) => c.notNull().references('policies.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    // Exactly the text the admin saved: what GET …/policy with Accept: application/toml returns.
    .addColumn('toml', 'text', (c) => c.notNull())
    .addColumn('parsed', 'jsonb', (c) => c.notNull())
    .addColumn('warnings', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_versions_pkey', ['policy_id', 'version'])
    .execute();

  // Versions are immutable: no UPDATE ever, and DELETE only as the cascade of deleting their
  // policy (the cascade runs inside the foreign key's trigger, hence a trigger depth above 1).
  await sql`
    create function policy_versions_immutable() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
        return old;
      end if;
      raise exception 'policy versions are immutable: % refused', tg_op
        using errcode = 'insufficient_privilege', hint = 'save an edit as a new version';
    end
    $$`.execute(db);
  await sql`
    create trigger policy_versions_immutable before update or delete on policy_versions
    for each row execute function policy_versions_immutable()`.execute(db);

  // The ordered rules: position 1 is consulted first. A rule names its group by id, so an IdP
  // rename keeps the rule; a deleted group leaves the rule in place matching nobody (group_id
  // null) until an admin removes it, with the name it had when the rule was saved.
  await db.schema
    .createTable('policy_rules')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull().check(sql`position > 0`))
    .addColumn('group_id', 'uuid', (c) => c.references('groups.id').onDelete('set null'))
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('policy_id', 'uuid', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_rules_pkey', ['workspace_id', 'position'])
    // No ON DELETE: a policy in use cannot be deleted (the service answers 409 first).
    .addForeignKeyConstraint('policy_rules_policy_fkey', ['workspace_id', 'policy_id'], 'policies', ['workspace_id', 'id'])
    .addUniqueConstraint('policy_rules_workspace_group_key', ['workspace_id', 'group_id'])
    .execute();
  await db.schema.createIndex('policy_rules_group_idx').on('policy_rules').column('group_id').execute();
  await db.schema.createIndex('policy_rules_policy_idx').on('policy_rules').column('policy_id').execute();

  // One row per workspace: the fallback policy and the version of the whole assignment (rules and
  // fallback), which admins send back as If-Match so two of them cannot interleave edits.
  await db.schema
    .createTable('policy_assignments')
    .addColumn('workspace_id', 'uuid', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
    .addColumn('fallback_policy_id', 'uuid')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('policy_assignments_fallback_fkey', ['workspace_id', 'fallback_policy_id'], 'policies', ['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('policy_assignments_fallback_idx').on('policy_assignments').column('fallback_policy_id').execute();

  // The policy in effect per user, kept in the transaction of every change that can alter it.
  // Users with no policy have no row. No foreign key to users: when a user is deleted, the
  // recompute that follows still finds the row, records the loss and removes it.
  await db.schema
    .createTable('user_policy')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('policy_id', 'uuid', (c) => c.notNull())
    .addColumn('policy_version', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('rule', 'fallback')`))
    // The group of the rule that matched (null for the fallback).
    .addColumn('rule_group_id', 'uuid')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('user_policy_policy_fkey', ['workspace_id', 'policy_id'], 'policies', ['workspace_id', 'id'])
    .execute();
  // "Users a policy applies to", in user-id order (keyset pages), and workspace-wide recomputes.
  await db.schema.createIndex('user_policy_policy_user_idx').on('user_policy').columns(['policy_id', 'user_id']).execute();
  await db.schema.createIndex('user_policy_workspace_idx').on('user_policy').columns(['workspace_id', 'user_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['user_policy', 'policy_assignments', 'policy_rules', 'policy_versions', 'policies']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists policy_versions_immutable()`.execute(db);
}
