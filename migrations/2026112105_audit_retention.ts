import { sql, type Kysely } from 'kysely';

// Audit retention: a per-workspace retention setting and the checkpoint a purge leaves
// behind. Purging old events must not make "who was in group G on date D" unanswerable for dates
// after the cutoff: members added before the cutoff and never removed would vanish from the
// replay. So the purge folds the events it deletes into a checkpoint — the memberships and the
// effective access as they stood after the last purged event — and records the checkpoint's
// digest in its own audit.purged event, which the hash chain protects.

const ident = sql`text collate "C"`;

export async function up(db: Kysely<any>): Promise<void> {
  // Absent row: the service-wide AUDIT_RETENTION_DAYS applies. retention_days null: keep everything.
  await db.schema
    .createTable('audit_retention_settings')
    .addColumn('workspace_id', 'uuid', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
    .addColumn('retention_days', 'integer', (c) => c.check(sql`retention_days between 1 and 36500`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // No foreign keys, like audit_events: the trail (and so its checkpoint) outlives users, groups
  // and workspaces. Ids are text, as in audit_events.target_id and data->>'userId'.
  await db.schema
    .createTable('audit_checkpoint_members')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('group_id', ident, (c) => c.notNull())
    .addColumn('user_id', ident, (c) => c.notNull())
    // When the membership began (its group.member_added event, now purged).
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_checkpoint_members_pkey', ['workspace_id', 'group_id', 'user_id'])
    .execute();
  await sql`create index audit_checkpoint_members_user_idx on audit_checkpoint_members (workspace_id, user_id)`.execute(db);

  // Users whose last purged access.changed event left them holding something (empty is not stored).
  await db.schema
    .createTable('audit_checkpoint_access')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('user_id', ident, (c) => c.notNull())
    .addColumn('granted', sql`text[]`, (c) => c.notNull())
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_checkpoint_access_pkey', ['workspace_id', 'user_id'])
    .execute();

  // Written only by the purge, under the same flag that lets it delete audit events.
  await sql`
    create function audit_checkpoint_guard() returns trigger language plpgsql as $$
    begin
      if coalesce(current_setting('bridge.audit_purge', true), '') = 'on' then
        return null;
      end if;
      raise exception 'audit checkpoints are written only by the retention purge: % refused', tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  for (const table of ['audit_checkpoint_members', 'audit_checkpoint_access']) {
    await sql`
      create trigger ${sql.id(`${table}_guard`)} before insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function audit_checkpoint_guard()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_checkpoint_access').ifExists().execute();
  await db.schema.dropTable('audit_checkpoint_members').ifExists().execute();
  await db.schema.dropTable('audit_retention_settings').ifExists().execute();
  await sql`drop function if exists audit_checkpoint_guard()`.execute(db);
}
