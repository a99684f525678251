import type { AccessModel } from '../access/model.js';

// The access model of each workspace, kept at the version it was read at. The database bumps
// the version with every change to the model (migrations/2026120302), and readers get the
// version in the same statement as the users' facts: a model whose version matches is exactly
// the committed one of that snapshot, in this instance and after changes made by any other.

const MAX_WORKSPACES = 1000;
const models = new Map<string, { version: number; model: AccessModel }>();

export function cachedAccessModel(workspaceId: string, version: number): AccessModel | undefined {
  const entry = models.get(workspaceId);
  return entry?.version === version ? entry.model : undefined;
}

/**
 * Only for a model read in a transaction of its own, which writes nothing: a write transaction
 * sees its own uncommitted bump, and a model remembered at that version could outlive a rollback.
 */
export function rememberAccessModel(workspaceId: string, version: number, model: AccessModel): void {
  if (!models.has(workspaceId) && models.size >= MAX_WORKSPACES) models.delete(models.keys().next().value!);
  models.set(workspaceId, { version, model });
}
