import { randomUUID } from 'node:crypto';
import type { Executor } from '../db/index.js';
import type { Workspace } from '../db/types.js';

export const DEFAULT_WORKSPACE = 'default';

export async function findWorkspaceByName(db: Executor, name: string): Promise<Workspace | undefined> {
  return db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findWorkspaceById(db: Executor, id: string): Promise<Workspace | undefined> {
  return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listWorkspaces(db: Executor): Promise<Workspace[]> {
  return db.selectFrom('workspaces').selectAll().orderBy('created_at').orderBy('name').execute();
}

/** Inserts the workspace unless one of that name exists; returns the stored row either way. */
export async function ensureWorkspace(db: Executor, name: string): Promise<{ workspace: Workspace; created: boolean }> {
  const inserted = await db
    .insertInto('workspaces')
    .values({ id: randomUUID(), name })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { workspace: inserted, created: true };
  return { workspace: (await findWorkspaceByName(db, name))!, created: false };
}
