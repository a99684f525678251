import { sql, type Kysely } from 'kysely';

// A version of each workspace's access model (permission catalogue, roles and what they decide,
// mappings, strategy and default role), bumped by the database on any change to those tables, so
// a reader may keep the model in memory and check in the same statement as the user's facts that
// it is still the one committed (src/services/decisions.service.ts). Triggers, not the services:
// seeding, the CLI and other instances bump it too. No foreign key: rows of a workspace being
// deleted are bumped by its own cascade.

const MODEL_TABLES = ['permissions', 'roles', 'role_permissions', 'role_mappings', 'workspace_access_settings'];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table access_model_versions (workspace_id uuid primary key, version bigint not null)`.execute(db);
  await sql`
    create function bump_access_model_version() returns trigger language plpgsql as $$
    begin
      insert into access_model_versions (workspace_id, version)
      values (case when tg_op = 'DELETE' then old.workspace_id else new.workspace_id end, 1)
      on conflict (workspace_id) do update set version = access_model_versions.version + 1;
      return null;
    end $$`.execute(db);
  for (const table of MODEL_TABLES) {
    await sql`create trigger ${sql.raw(`${table}_model_version`)} after insert or update or delete on ${sql.table(table)}
      for each row execute function bump_access_model_version()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of MODEL_TABLES) await sql`drop trigger if exists ${sql.raw(`${table}_model_version`)} on ${sql.table(table)}`.execute(db);
  await sql`drop function if exists bump_access_model_version()`.execute(db);
  await sql`drop table if exists access_model_versions`.execute(db);
}
