import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

// Row types of the tables created in migrations/. Kept by hand next to the migrations.

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, string | T, string | T>;

export interface WorkspacesTable {
  id: string;
  name: string;
  settings: Generated<Json>;
  created_at: Generated<Timestamp>;
}

export interface ApiTokensTable {
  id: string;
  workspace_id: string;
  scope: 'scim' | 'admin';
  role: string | null;
  description: string | null;
  token_hash: string;
  created_at: Generated<Timestamp>;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface UsersTable {
  id: string;
  workspace_id: string;
  user_name: string;
  external_id: string | null;
  active: Generated<boolean>;
  resource: Json;
  version: Generated<number>;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface GroupsTable {
  id: string;
  workspace_id: string;
  display_name: string;
  external_id: string | null;
  resource: Json;
  version: Generated<number>;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  workspace_id: string;
  created_at: Generated<Timestamp>;
}

export interface Database {
  workspaces: WorkspacesTable;
  api_tokens: ApiTokensTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
}

export type Workspace = Selectable<WorkspacesTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type NewGroupRow = Insertable<GroupsTable>;
export type GroupUpdate = Updateable<GroupsTable>;
