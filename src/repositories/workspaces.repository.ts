import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Executor } from '../db/index.js';
import type { Database, Workspace } from '../db/types.js';
import { seedWorkspaceAccess } from './access.repository.js';

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

/**
 * Inserts the workspace unless one of that name exists; returns the stored row either way. A new
 * workspace gets the recommended access model (permission catalogue, roles, mappings, default
 * role) in the same transaction — the caller's, or one opened here.
 */
export async function ensureWorkspace(db: Executor, name: string): Promise<{ workspace: Workspace; created: boolean }> {
  const work = async (trx: Transaction<Database>) => {
    const inserted = await trx
      .insertInto('workspaces')
      .values({ id: randomUUID(), name })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) return { workspace: (await findWorkspaceByName(trx, name))!, created: false };
    await seedWorkspaceAccess(trx, inserted.id);
    return { workspace: inserted, created: true };
  };
  return db.isTransaction ? work(db as Transaction<Database>) : (db).transaction().execute(work);
}
