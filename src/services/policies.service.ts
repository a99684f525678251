import { createHash, randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { type AuditContext, type NewAuditEvent } from '../audit/types.js';
import { type Db, type Executor } from '../db/index.js';
import type { Database, PolicyRow, PolicyVersionRow } from '../db/types.js';
import { formatProblem, parsePolicyToml, type ParsedPolicy, type PolicyProblem } from '../policies/parse.js';
import { isForeignKeyViolation, isUniqueViolation } from '../repositories/errors.js';
import { isUuid } from '../repositories/ids.js';
import * as repo from '../repositories/policies.repository.js';
import { DomainError, conflict, invalid, notFound, preconditionFailed } from './admin-errors.js';
import { commit } from './commit.js';
import { decodeCursor, keysetPage, rowsToRead, type Page } from './pagination.js';

// Admin use-cases of managed policy documents: policies whose every saved edit is a new
// immutable version, listed, read and deleted (never while a rule or the fallback names them).
// Each write is one transaction with its audit events through the commit step, whose
// effective-policy projector (effective-policy.service.ts) recomputes whom it changes. The
// assignment of policies to groups is policy-assignment.service.ts.

type Trx = Transaction<Database>;

export const MAX_TOML_BYTES = 256 * 1024;
export const MAX_RULES = 10_000; // one per group at most, and a workspace has up to 10,000 groups
export const MAX_POLICY_NAME = 200;
export const MAX_POLICY_DESCRIPTION = 2000;

// ---- views ---------------------------------------------------------------------------------

export interface PolicyView {
  id: string;
  name: string;
  description: string | null;
  currentVersion: number;
  createdAt: string;
  updatedAt: string;
  usage: { rulePositions: number[]; isFallback: boolean; userCount: number };
}

export interface PolicyVersionView {
  policyId: string;
  version: number;
  sha256: string;
  warnings: PolicyProblem[];
  createdAt: string;
  createdBy: string;
}

export interface PolicyDocumentView extends PolicyVersionView {
  toml: string;
  requirements: ParsedPolicy;
}

function toPolicyView(row: repo.PolicyWithUsage): PolicyView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    currentVersion: row.current_version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    usage: { rulePositions: row.rule_positions.map(Number), isFallback: row.is_fallback, userCount: Number(row.user_count) },
  };
}

function toVersionView(row: repo.VersionSummary): PolicyVersionView {
  return {
    policyId: row.policy_id,
    version: row.version,
    sha256: row.sha256,
    warnings: row.warnings as PolicyProblem[],
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
  };
}

function toDocumentView(row: PolicyVersionRow): PolicyDocumentView {
  return { ...toVersionView(row), toml: row.toml, requirements: row.parsed };
}

/** What every write returns besides its result: how many users' effective policy it changed. */
export interface PolicyWrite<T> {
  result: T;
  effectivePolicyChanges: number;
}

/** A blank description is none. Names and lengths are checked by the route schemas. */
function descriptionOrNull(value: string | null | undefined): string | null {
  return value?.trim() ? value : null;
}

interface CheckedToml {
  toml: string;
  parsed: ParsedPolicy;
  warnings: PolicyProblem[];
  sha256: string;
}

/** Parses and validates a policy document: a 400 naming the line and key of every problem. */
export function checkToml(value: unknown): CheckedToml {
  if (typeof value !== 'string') throw invalid('toml', 'toml must be the text of a requirements.toml document');
  if (Buffer.byteLength(value, 'utf8') > MAX_TOML_BYTES) throw invalid('toml', `toml must be at most ${MAX_TOML_BYTES} bytes`);
  const result = parsePolicyToml(value);
  if (!result.ok) {
    const shown = result.errors.slice(0, 20).map(formatProblem);
    const more = result.errors.length > shown.length ? `; and ${result.errors.length - shown.length} more` : '';
    // Every problem, each with its line and key, like the warnings of a valid document.
    const problems = result.errors.map((p) => ({ pointer: '/toml', detail: formatProblem(p), ...(p.line !== undefined ? { line: p.line } : {}), ...(p.key !== undefined ? { key: p.key } : {}) }));
    throw new DomainError('invalid', `toml is not a valid requirements.toml: ${shown.join('; ')}${more}`, problems);
  }
  return { toml: value, parsed: result.parsed, warnings: result.warnings, sha256: createHash('sha256').update(value, 'utf8').digest('hex') };
}

/** If-Match against a version number: `"3"`, `W/"3"`, `3` or `*`. 412 when it names another version. */
export function checkIfMatch(ifMatch: string | undefined, current: number, what: string): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'));
  if (tags.includes('*') || tags.includes(String(current))) return;
  throw preconditionFailed(`If-Match ${ifMatch} does not match the current version of the ${what} ("${current}"); read it again and retry`);
}

export const etag = (version: number): string => `"${version}"`;

function actorName(audit: AuditContext): string {
  return audit.actor.display ? `${audit.actor.id} (${audit.actor.display})` : audit.actor.id;
}

function duplicateName(name: string): DomainError {
  return conflict(`A policy named ${JSON.stringify(name)} already exists in this workspace`, 'name');
}

// ---- policies ------------------------------------------------------------------------------

async function policyView(db: Executor, workspaceId: string, id: string): Promise<PolicyView> {
  const row = await repo.findPolicyWithUsage(db, workspaceId, id);
  if (!row) throw notFound('policy', id);
  return toPolicyView(row);
}

export interface PolicyWithDocument {
  policy: PolicyView;
  document: PolicyDocumentView;
}

async function withDocument(db: Executor, workspaceId: string, id: string): Promise<PolicyWithDocument> {
  const policy = await policyView(db, workspaceId, id);
  const document = await repo.findVersion(db, id, policy.currentVersion);
  if (!document) throw new Error(`policy ${id} has no version ${policy.currentVersion}`);
  return { policy, document: toDocumentView(document) };
}

export async function getPolicy(db: Executor, workspaceId: string, id: string): Promise<PolicyWithDocument> {
  return withDocument(db, workspaceId, id);
}

export async function listPolicies(db: Executor, workspaceId: string, query: { cursor?: string; limit: number }): Promise<Page<PolicyView>> {
  const position = decodeCursor(query.cursor, 2, ([name, id]) => typeof name === 'string' && typeof id === 'string' && isUuid(id));
  const after = position ? { name: String(position[0]), id: String(position[1]) } : undefined;
  const rows = await repo.pagePolicies(db, workspaceId, after, rowsToRead(query.limit));
  const page = keysetPage(rows, query.limit, (r) => [r.name.toLowerCase(), r.id]);
  return { items: page.rows.map(toPolicyView), nextCursor: page.nextCursor };
}

export interface CreatePolicyInput {
  name: string;
  description?: string | null;
  toml: string;
}

async function insertVersion(trx: Trx, audit: AuditContext, policy: PolicyRow, version: number, doc: CheckedToml): Promise<NewAuditEvent> {
  await repo.insertVersion(trx, { policy_id: policy.id, version, toml: doc.toml, parsed: doc.parsed, warnings: doc.warnings, sha256: doc.sha256, created_by: actorName(audit) });
  // The text itself goes into the trail: versions are deleted with their policy, the trail is not.
  return {
    type: 'policy.version_created',
    targetType: 'policy',
    targetId: policy.id,
    data: { name: policy.name, version, sha256: doc.sha256, toml: doc.toml, warnings: doc.warnings.length },
  };
}

export interface SavedPolicy extends PolicyWithDocument {
  /** Unknown keys and other things worth a look; the policy was saved. */
  warnings: PolicyProblem[];
}

export async function createPolicy(db: Db, audit: AuditContext, input: CreatePolicyInput): Promise<PolicyWrite<SavedPolicy>> {
  const { name } = input;
  const description = descriptionOrNull(input.description);
  const doc = checkToml(input.toml);
  const id = randomUUID();
  try {
    await db.transaction().execute(async (trx) => {
      const policy = await repo.insertPolicy(trx, { id, workspace_id: audit.workspaceId, name, description, current_version: 1 });
      const versionEvent = await insertVersion(trx, audit, policy, 1, doc);
      await commit(trx, audit, [{ type: 'policy.created', targetType: 'policy', targetId: id, data: { name, description } }, versionEvent]);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicateName(name);
    throw error;
  }
  // Nobody gets a new policy until a rule or the fallback names it.
  return { result: { ...(await withDocument(db, audit.workspaceId, id)), warnings: doc.warnings }, effectivePolicyChanges: 0 };
}

export interface UpdatePolicyInput {
  name?: string;
  description?: string | null;
  /** A new document: saved as the next version, which every user of the policy gets. */
  toml?: string;
}

/**
 * Renames, re-describes, and/or saves a new version (when the TOML text differs from the current
 * version's; the same text again is not an edit). `ifMatch` names the current version.
 */
export async function updatePolicy(db: Db, audit: AuditContext, id: string, input: UpdatePolicyInput, ifMatch?: string): Promise<PolicyWrite<SavedPolicy>> {
  const { name } = input;
  const description = input.description === undefined ? undefined : descriptionOrNull(input.description);
  const doc = input.toml === undefined ? undefined : checkToml(input.toml);
  let changes = 0;
  try {
    await db.transaction().execute(async (trx) => {
      const current = await repo.lockPolicy(trx, audit.workspaceId, id);
      if (!current) throw notFound('policy', id);
      checkIfMatch(ifMatch, current.current_version, 'policy');
      const events: NewAuditEvent[] = [];
      const changed: string[] = [];
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      if (name !== undefined && name !== current.name) {
        changed.push('name');
        before.name = current.name;
        after.name = name;
      }
      if (description !== undefined && description !== current.description) {
        changed.push('description');
        before.description = current.description;
        after.description = description;
      }
      let version = current.current_version;
      if (doc) {
        const latest = await repo.findVersion(trx, id, current.current_version);
        if (latest?.toml !== doc.toml) version += 1;
      }
      if (changed.length === 0 && version === current.current_version) return;
      const updated = await repo.updatePolicy(trx, audit.workspaceId, id, {
        ...(changed.includes('name') ? { name } : {}),
        ...(changed.includes('description') ? { description } : {}),
        ...(version !== current.current_version ? { current_version: version } : {}),
      });
      if (changed.length > 0) events.push({ type: 'policy.updated', targetType: 'policy', targetId: id, data: { name: updated.name, changed, before, after } });
      if (doc && version !== current.current_version) events.push(await insertVersion(trx, audit, updated, version, doc));
      changes = (await commit(trx, audit, events)).policyChanges.length;
    });
  } catch (error) {
    if (isUniqueViolation(error) && name !== undefined) throw duplicateName(name);
    throw error;
  }
  return { result: { ...(await withDocument(db, audit.workspaceId, id)), warnings: doc?.warnings ?? [] }, effectivePolicyChanges: changes };
}

/** Deletes a policy no rule and no fallback names (409 otherwise), with all its versions. */
export async function deletePolicy(db: Db, audit: AuditContext, id: string, ifMatch?: string): Promise<PolicyWrite<{ id: string; name: string }>> {
  try {
    return await db.transaction().execute(async (trx) => {
      const current = await repo.lockPolicy(trx, audit.workspaceId, id);
      if (!current) throw notFound('policy', id);
      checkIfMatch(ifMatch, current.current_version, 'policy');
      const refs = await repo.policyReferences(trx, audit.workspaceId, id);
      if (refs.positions.length > 0 || refs.fallback) throw inUse(current.name, refs);
      await repo.deletePolicy(trx, audit.workspaceId, id);
      await commit(trx, audit, [{ type: 'policy.deleted', targetType: 'policy', targetId: id, data: { name: current.name, versions: current.current_version } }]);
      return { result: { id, name: current.name }, effectivePolicyChanges: 0 };
    });
  } catch (error) {
    // A rule or the fallback named the policy in a transaction that committed after our check.
    if (isForeignKeyViolation(error)) throw conflict('The policy was assigned while it was being deleted; remove it from the rules and the fallback first');
    throw error;
  }
}

function inUse(name: string, refs: { positions: number[]; fallback: boolean }): DomainError {
  const where = [
    ...(refs.positions.length > 0 ? [`rule${refs.positions.length > 1 ? 's' : ''} ${refs.positions.join(', ')}`] : []),
    ...(refs.fallback ? ['the fallback'] : []),
  ].join(' and ');
  return conflict(`Policy ${JSON.stringify(name)} is in use by ${where}; remove it there first`);
}

export async function listVersions(db: Executor, workspaceId: string, id: string, query: { cursor?: string; limit: number }): Promise<Page<PolicyVersionView>> {
  const policy = await repo.findPolicy(db, workspaceId, id);
  if (!policy) throw notFound('policy', id);
  const before = decodeCursor(query.cursor, 1, ([version]) => Number.isSafeInteger(version))?.[0] as number | undefined;
  const rows = await repo.pageVersions(db, id, before, rowsToRead(query.limit));
  const page = keysetPage(rows, query.limit, (r) => [r.version]);
  return { items: page.rows.map(toVersionView), nextCursor: page.nextCursor };
}

export async function getVersion(db: Executor, workspaceId: string, id: string, version: number): Promise<PolicyDocumentView> {
  const policy = await repo.findPolicy(db, workspaceId, id);
  if (!policy) throw notFound('policy', id);
  const row = await repo.findVersion(db, id, version);
  if (!row) throw notFound(`version of policy ${policy.name}`, String(version));
  return toDocumentView(row);
}
