import { sql, type Kysely } from 'kysely';

// Access reviews by role, and review campaigns.
//
// Roles in the audit trail: access.changed events now carry the roles a user holds before and
// after (and are written when only the roles change), so "who held role R on that date" is read
// from the log like a permission's holders. These are the roles a user holds of their own
// (directly or through groups; none while deactivated), which user_access.role_ids now holds
// too: the default role's holders are the users with none. The retention checkpoint keeps the roles
// its purged events left a user with (null: folded from events that recorded none).
//
// Campaigns: an owner or compliance admin opens one over a permission, role or group with named
// reviewers and a due date. Its items are the holders when it opened; reviewers decide keep or
// revoke; closing freezes the evidence. Every change is also an audit event (target "review").

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_checkpoint_access add column role_ids uuid[]`.execute(db);
  // user_access.role_ids becomes the roles a user holds of their own: no longer the default role
  // of a user with none, nor anything of a deactivated user.
  await sql`
    update user_access ua set role_ids = '{}'
      from users u where u.id = ua.user_id and u.workspace_id = ua.workspace_id and not u.active and cardinality(ua.role_ids) > 0`.execute(db);
  await sql`
    update user_access ua set role_ids = '{}'
      from workspace_access_settings st
     where st.workspace_id = ua.workspace_id and ua.role_ids = array[st.default_role_id]
       and not exists (select 1 from user_roles ur where ur.workspace_id = ua.workspace_id and ur.user_id = ua.user_id and ur.role_id = st.default_role_id)
       and not exists (
         select 1 from group_members gm
           join groups g on g.id = gm.group_id
           join role_mappings m on m.workspace_id = g.workspace_id and m.role_id = st.default_role_id
            and (m.group_id = g.id or m.group_external_id = g.external_id or lower(m.group_display_name) = lower(g.display_name))
          where gm.user_id = ua.user_id and g.workspace_id = ua.workspace_id)`.execute(db);

  await sql`alter table audit_events drop constraint audit_events_target_type_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_target_type_check
    check (target_type in ('user', 'group', 'role', 'permission', 'mapping', 'workspace', 'token', 'policy', 'webhook', 'review')) not valid`.execute(db);
  await sql`alter table audit_events validate constraint audit_events_target_type_check`.execute(db);

  await sql`
    create table review_campaigns (
      id uuid primary key,
      workspace_id uuid not null references workspaces (id) on delete cascade,
      name text not null,
      subject_kind text not null check (subject_kind in ('permission', 'role', 'group')),
      -- a permission key, a role id or a group id; the name as it was when the campaign opened
      subject_id text not null,
      subject_name text not null,
      due_at timestamptz not null,
      status text not null check (status in ('open', 'closed')),
      opened_at timestamptz not null,
      opened_by jsonb not null,
      -- the signed head sealed before the holders were read: their granting events are in it
      opened_head jsonb not null,
      closed_at timestamptz,
      closed_by jsonb,
      -- frozen at close: holders, decisions, reviewers, times, the audit head, the removals
      evidence jsonb
    )`.execute(db);
  await sql`create index review_campaigns_workspace_idx on review_campaigns (workspace_id, opened_at desc, id desc)`.execute(db);

  await sql`
    create table review_reviewers (
      campaign_id uuid not null references review_campaigns (id) on delete cascade,
      -- user:<SCIM user id> (signs in with OIDC) or token:<admin token id>: the admin principal
      principal text not null,
      display text not null,
      primary key (campaign_id, principal)
    )`.execute(db);

  await sql`
    create table review_items (
      campaign_id uuid not null references review_campaigns (id) on delete cascade,
      user_id uuid not null,
      user_name text,
      since timestamptz,
      reason text not null,
      granted_by_event uuid,
      decision text check (decision in ('keep', 'revoke')),
      comment text,
      decided_by text,
      decided_by_display text,
      decided_at timestamptz,
      primary key (campaign_id, user_id)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists review_items`.execute(db);
  await sql`drop table if exists review_reviewers`.execute(db);
  await sql`drop table if exists review_campaigns`.execute(db);
  await sql`alter table audit_checkpoint_access drop column if exists role_ids`.execute(db);
}
