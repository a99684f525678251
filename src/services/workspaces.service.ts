import type { AuditActor } from '../audit/types.js';
import type { Db } from '../db/index.js';
import type { Workspace } from '../db/types.js';
import { isUuid } from '../repositories/ids.js';
import {
  DEFAULT_WORKSPACE,
  ensureWorkspace,
  findWorkspaceById,
  findWorkspaceByName,
} from '../repositories/workspaces.repository.js';
import { commit } from './commit.js';

// Workspaces: creating one (audited, with the recommended access model seeded by the repository),
// the `default` one every installation has, and finding one by name or id.

const MAX_NAME = 100;

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

function validateName(name: string): void {
  if (name === '' || name.trim() !== name) throw new WorkspaceError('A workspace name must be non-empty, without leading or trailing spaces');
  if (name.length > MAX_NAME) throw new WorkspaceError(`A workspace name must be at most ${MAX_NAME} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new WorkspaceError('A workspace name must not contain control characters');
  // --workspace accepts a name or an id; a UUID-shaped name would be ambiguous.
  if (isUuid(name)) throw new WorkspaceError('A workspace name must not look like a workspace id (a UUID)');
}

async function create(db: Db, name: string, actor: AuditActor): Promise<{ workspace: Workspace; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const result = await ensureWorkspace(trx, name);
    if (result.created) {
      await commit(trx, { workspaceId: result.workspace.id, actor }, [
        { type: 'workspace.created', targetType: 'workspace', targetId: result.workspace.id, data: { id: result.workspace.id, name } },
      ]);
    }
    return result;
  });
}

/** Creates a workspace, audited; an existing name is an error. */
export async function createWorkspace(db: Db, name: string, actor: AuditActor): Promise<Workspace> {
  validateName(name);
  const { workspace, created } = await create(db, name, actor);
  if (!created) throw new WorkspaceError(`A workspace named ${JSON.stringify(name)} already exists (id ${workspace.id})`);
  return workspace;
}

/** Creates the `default` workspace when missing; true when it did. */
export async function ensureDefaultWorkspace(db: Db, actor: AuditActor): Promise<boolean> {
  // Checked first so the common case is a read, not a write transaction.
  if (await findWorkspaceByName(db, DEFAULT_WORKSPACE)) return false;
  return (await create(db, DEFAULT_WORKSPACE, actor)).created;
}

/** A workspace given as a name or an id. */
export async function resolveWorkspace(db: Db, nameOrId: string): Promise<Workspace> {
  const workspace = isUuid(nameOrId)
    ? ((await findWorkspaceById(db, nameOrId.toLowerCase())) ?? (await findWorkspaceByName(db, nameOrId)))
    : await findWorkspaceByName(db, nameOrId);
  if (!workspace) {
    throw new WorkspaceError(`No workspace named or with id ${JSON.stringify(nameOrId)} (see: codex-scim workspace list)`);
  }
  return workspace;
}
