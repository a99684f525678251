import { createHash, randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { REVIEW_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type AuditContext, type NewAuditEvent } from '../audit/types.js';
import { consistentRead, type Db, type Executor } from '../db/index.js';
import type { Database, PolicyRow, PolicyVersionRow } from '../db/types.js';
import { formatProblem, parsePolicyToml, type ParsedPolicy, type PolicyProblem } from '../policies/parse.js';
import { resolvePolicy, type PolicyRef, type RuleView, type SkippedRule } from '../policies/resolve.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import { isForeignKeyViolation, isUniqueViolation } from '../repositories/errors.js';
import { isUuid } from '../repositories/ids.js';
import * as repo from '../repositories/policies.repository.js';
import { DomainError, conflict, invalid, notFound, preconditionFailed, preconditionRequired } from './admin-errors.js';
import { commit, type CommittedEvent, type Projector } from './commit.js';
import { decodeCursor, encodeCursor, resolveGroupRef, resolveUserRow, type Page } from './admin-directory.service.js';

// Admin use-cases of managed policies: policies whose every saved edit is a new
// immutable version, the workspace's ordered rules and fallback, and the look-ups "which policy
// does this user / group get, and why". Each write is one transaction with its audit events and
// the recompute of every user whose effective policy it may change (policy.effective_changed
// per user, caused by the write's event), exactly like effective access.

type Trx = Transaction<Database>;

export const MAX_TOML_BYTES = 256 * 1024;
export const MAX_RULES = 10_000; // one per group at most, and a workspace has up to 10,000 groups
const MAX_NAME = 200;
const MAX_DESCRIPTION = 2000;

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

// ---- input checks --------------------------------------------------------------------------

function checkName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('name', 'name must be a non-empty string');
  const name = value.trim();
  if (name.length > MAX_NAME) throw invalid('name', `name must be at most ${MAX_NAME} characters`);
  return name;
}

function checkDescription(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid('description', 'description must be a string or null');
  if (value.length > MAX_DESCRIPTION) throw invalid('description', `description must be at most ${MAX_DESCRIPTION} characters`);
  return value.trim() === '' ? null : value;
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

// ---- effective policy (also called from the SCIM services) -----------------------------------

/** The event an effective-policy change is attributed to: one for all users, or per user. */
export type PolicyCause = string | ((userId: string) => string);

/**
 * Recomputes the effective policy of `scope` set-based in SQL, updates user_policy, and appends
 * one `policy.effective_changed` event per user whose enforced document changed, with `causeId`
 * = the event of the change. Runs in the commit step, under its locks (src/services/commit.ts):
 * recomputes of one user run one after the other, so the last transaction to commit computes
 * from everything committed before it.
 */
export async function recomputeEffectivePolicy(trx: Trx, audit: AuditContext, scope: repo.PolicyScope, cause: PolicyCause): Promise<repo.PolicyChangeRow[]> {
  const changes = await repo.recomputeUserPolicies(trx, audit.workspaceId, scope);
  if (changes.length === 0) return [];
  const causeOf = typeof cause === 'string' ? () => cause : cause;
  await appendAuditEvents(
    trx,
    audit,
    changes.map((c): NewAuditEvent => ({ type: 'policy.effective_changed', targetType: 'user', targetId: c.userId, causeId: causeOf(c.userId), data: { before: c.before, after: c.after } })),
  );
  return changes;
}

const USER_POLICY_EVENTS = new Set(['user.created', 'user.deactivated', 'user.reactivated', 'user.deleted']);
const MEMBER_EVENTS = new Set(['group.member_added', 'group.member_removed']);

interface PolicyWork {
  scope: repo.PolicyScope;
  cause: PolicyCause;
}

/**
 * What a commit's events can have changed of effective policies, most decisive first (see
 * accessWork: the first recompute that changes a user is the one it is attributed to).
 */
async function policyWork(trx: Trx, workspaceId: string, events: readonly CommittedEvent[]): Promise<PolicyWork[]> {
  const assignment = events.filter((e) => e.type === 'policy.rules_changed' || e.type === 'policy.fallback_changed').pop();
  if (assignment) return [{ scope: 'workspace', cause: assignment.id }];
  const work: PolicyWork[] = [];
  // A new version reaches exactly the users the policy applies to now; a new policy applies to nobody yet.
  const created = new Set(events.filter((e) => e.type === 'policy.created').map((e) => e.targetId));
  for (const e of events) if (e.type === 'policy.version_created' && !created.has(e.targetId)) work.push({ scope: { policyId: e.targetId }, cause: e.id });

  const userCause = new Map<string, string>();
  for (const e of events) if (USER_POLICY_EVENTS.has(e.type) && !userCause.has(e.targetId)) userCause.set(e.targetId, e.id);
  if (userCause.size > 0) work.push({ scope: { userIds: [...userCause.keys()] }, cause: (userId) => userCause.get(userId)! });

  const memberCause = new Map<string, string>();
  const groupIds = new Set<string>();
  for (const e of events) {
    const userId = e.data?.userId;
    if (MEMBER_EVENTS.has(e.type) && typeof userId === 'string' && !userCause.has(userId) && !memberCause.has(userId)) {
      memberCause.set(userId, e.id);
      groupIds.add(e.targetId);
    }
  }
  // Policies follow only the groups rules name: membership of any other group cannot change one.
  // A group deleted in this commit no longer has its id on any rule (the delete nulled it), so
  // whether a rule named it is unknowable here: its former members are recomputed regardless.
  const deleted = events.some((e) => e.type === 'group.deleted' && groupIds.has(e.targetId));
  if (memberCause.size > 0 && (deleted || (await repo.rulesNameAnyGroup(trx, workspaceId, [...groupIds])))) {
    work.push({ scope: { userIds: [...memberCause.keys()] }, cause: (userId) => memberCause.get(userId)! });
  }
  return work;
}

export const policyProjector: Projector<repo.PolicyChangeRow> = {
  name: 'effective policy',
  dependsOn: ['policy.rules_changed', 'policy.fallback_changed', 'policy.version_created', ...USER_POLICY_EVENTS, ...MEMBER_EVENTS, 'group.deleted'],
  // Rules name groups by id, so renames change nothing; roles and permissions are another projection.
  ignores: [
    'user.updated',
    'user.role_assigned',
    'user.role_unassigned',
    'group.created',
    'group.renamed',
    'group.updated',
    'role.created',
    'role.updated',
    'role.deleted',
    'permission.created',
    'permission.updated',
    'permission.deleted',
    'mapping.created',
    'mapping.deleted',
    'workspace.default_role_changed',
    'workspace.settings_changed',
    'workspace.created',
    'access.recomputed',
    'audit.purged',
    'scim.extension_declared',
    'scim.extension_changed',
    'scim.extension_removed',
    'token.created',
    'token.revoked',
    'token.rotated',
    'oauth_client.created',
    'oauth_client.revoked',
    ...WEBHOOK_EVENT_TYPES,
    ...REVIEW_EVENT_TYPES,
    'policy.created',
    'policy.updated',
    'policy.deleted',
    'access.changed',
    'policy.effective_changed',
  ],
  async project(trx, audit, events) {
    const changes: repo.PolicyChangeRow[] = [];
    for (const { scope, cause } of await policyWork(trx, audit.workspaceId, events)) changes.push(...(await recomputeEffectivePolicy(trx, audit, scope, cause)));
    return changes;
  },
};

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
  const position = decodeCursor(query.cursor, 2);
  if (position && !isUuid(position[1]!)) throw invalid('cursor', 'cursor is not a cursor this API returned');
  const after = position ? { name: position[0]!, id: position[1]! } : undefined;
  const rows = await repo.pagePolicies(db, workspaceId, after, query.limit + 1);
  const more = rows.length > query.limit;
  const items = (more ? rows.slice(0, query.limit) : rows).map(toPolicyView);
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor([last.name.toLowerCase(), last.id]) : null };
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
  const name = checkName(input.name);
  const description = checkDescription(input.description);
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
  const name = input.name === undefined ? undefined : checkName(input.name);
  const description = input.description === undefined ? undefined : checkDescription(input.description);
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
  const position = decodeCursor(query.cursor, 1);
  const before = position ? Number(position[0]) : undefined;
  if (before !== undefined && !Number.isInteger(before)) throw invalid('cursor', 'cursor is not a cursor this API returned');
  const rows = await repo.pageVersions(db, id, before, query.limit + 1);
  const more = rows.length > query.limit;
  const items = (more ? rows.slice(0, query.limit) : rows).map(toVersionView);
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor([String(last.version)]) : null };
}

export async function getVersion(db: Executor, workspaceId: string, id: string, version: number): Promise<PolicyDocumentView> {
  const policy = await repo.findPolicy(db, workspaceId, id);
  if (!policy) throw notFound('policy', id);
  const row = await repo.findVersion(db, id, version);
  if (!row) throw notFound(`version of policy ${policy.name}`, String(version));
  return toDocumentView(row);
}

// ---- assignment: ordered rules and fallback ------------------------------------------------

export interface RuleOut {
  position: number;
  /** null when the group was deleted: the rule matches nobody until it is removed. */
  groupId: string | null;
  groupName: string;
  groupDeleted: boolean;
  policy: { id: string; name: string; version: number };
}

export interface AssignmentView {
  /** Send back as If-Match (the ETag) to change the rules or the fallback. */
  version: number;
  rules: RuleOut[];
  fallback: { id: string; name: string; version: number } | null;
}

async function assignmentView(db: Executor, workspaceId: string): Promise<AssignmentView> {
  const [assignment, rules] = await Promise.all([repo.findAssignment(db, workspaceId), repo.listRules(db, workspaceId)]);
  const fallbackRow = assignment?.fallback_policy_id ? await repo.findPolicy(db, workspaceId, assignment.fallback_policy_id) : undefined;
  return {
    version: assignment?.version ?? 0,
    rules: rules.map((r) => ({
      position: r.position,
      groupId: r.group_id,
      groupName: r.group_name,
      groupDeleted: !r.group_exists,
      policy: { id: r.policy_id, name: r.policy_name, version: r.policy_version },
    })),
    fallback: fallbackRow ? { id: fallbackRow.id, name: fallbackRow.name, version: fallbackRow.current_version } : null,
  };
}

export async function getAssignment(db: Executor, workspaceId: string): Promise<AssignmentView> {
  return assignmentView(db, workspaceId);
}

export interface RuleInput {
  groupId: string;
  policyId: string;
}

function ruleRecord(r: { position: number; groupId: string | null; groupName: string; policyId: string; policyName: string }) {
  return { position: r.position, groupId: r.groupId, groupName: r.groupName, policyId: r.policyId, policyName: r.policyName };
}

/**
 * Replaces the whole ordered rule list in one transaction. `ifMatch` (required) must name the
 * assignment's current version: of two admins reordering from the same version, the second gets
 * 412 and must read the first's order before trying again.
 */
export async function replaceRules(db: Db, audit: AuditContext, rules: readonly RuleInput[], ifMatch: string | undefined): Promise<PolicyWrite<AssignmentView>> {
  if (ifMatch === undefined) throw preconditionRequired('If-Match is required: send the ETag (version) of GET /policy-rules');
  // The order of rules decides who gets which policy: a reorder must name the version it was made
  // from, so `*` (any version) would defeat the check the header is required for.
  if (ifMatch.split(',').some((tag) => tag.trim() === '*')) throw preconditionRequired('If-Match: * is not accepted here: send the ETag (version) of GET /policy-rules');
  // The route's schema checks the shape (ids, at most MAX_RULES); what it cannot say is checked here.
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const key = r.groupId.toLowerCase();
    const earlier = seen.get(key);
    // A second rule for a group could never match: first match wins.
    if (earlier !== undefined) throw invalid(`rules.${i}.groupId`, `rules[${i}].groupId repeats the group of rules[${earlier}]; a later rule for the same group could never match`);
    seen.set(key, i);
  });
  let changes = 0;
  await db.transaction().execute(async (trx) => {
    const assignment = await repo.lockAssignment(trx, audit.workspaceId);
    checkIfMatch(ifMatch, assignment.version, 'policy rules');
    const [groups, policies, before] = await Promise.all([
      repo.groupsByIds(trx, audit.workspaceId, rules.map((r) => r.groupId), true),
      repo.policiesByIds(trx, audit.workspaceId, rules.map((r) => r.policyId), true),
      repo.listRules(trx, audit.workspaceId),
    ]);
    const groupName = new Map(groups.map((g) => [g.id, g.display_name]));
    const policyName = new Map(policies.map((p) => [p.id, p.name]));
    const resolved = rules.map((r, i) => {
      const groupId = r.groupId.toLowerCase();
      const policyId = r.policyId.toLowerCase();
      const name = groupName.get(groupId);
      if (name === undefined) throw invalid(`rules.${i}.groupId`, `rules[${i}].groupId: no group ${JSON.stringify(r.groupId)} in this workspace`);
      if (!policyName.has(policyId)) throw invalid(`rules.${i}.policyId`, `rules[${i}].policyId: no policy ${JSON.stringify(r.policyId)} in this workspace`);
      return { position: i + 1, groupId, groupName: name, policyId, policyName: policyName.get(policyId)! };
    });
    const beforeRecords = before.map((r) => ruleRecord({ position: r.position, groupId: r.group_id, groupName: r.group_name, policyId: r.policy_id, policyName: r.policy_name }));
    const afterRecords = resolved.map(ruleRecord);
    if (JSON.stringify(beforeRecords) === JSON.stringify(afterRecords)) return; // the same order again: nothing to record
    await repo.replaceRules(trx, audit.workspaceId, resolved);
    const updated = await repo.updateAssignment(trx, audit.workspaceId, {});
    const committed = await commit(trx, audit, [
      { type: 'policy.rules_changed', targetType: 'workspace', targetId: audit.workspaceId, data: { before: beforeRecords, after: afterRecords, version: updated.version } },
    ]);
    changes = committed.policyChanges.length;
  });
  return { result: await assignmentView(db, audit.workspaceId), effectivePolicyChanges: changes };
}

/** Sets (policyId) or clears (null) the fallback policy. `ifMatch` is optional here. */
export async function setFallback(db: Db, audit: AuditContext, policyId: string | null, ifMatch?: string): Promise<PolicyWrite<AssignmentView>> {
  if (policyId !== null && !isUuid(policyId)) throw invalid('policyId', 'policyId must be a policy id (uuid)');
  let changes = 0;
  await db.transaction().execute(async (trx) => {
    const assignment = await repo.lockAssignment(trx, audit.workspaceId);
    checkIfMatch(ifMatch, assignment.version, 'policy rules');
    const target = policyId === null ? null : await repo.findPolicy(trx, audit.workspaceId, policyId);
    if (policyId !== null && !target) throw invalid('policyId', `no policy ${JSON.stringify(policyId)} in this workspace`);
    if ((target?.id ?? null) === assignment.fallback_policy_id) return;
    const previous = assignment.fallback_policy_id ? await repo.findPolicy(trx, audit.workspaceId, assignment.fallback_policy_id) : undefined;
    const updated = await repo.updateAssignment(trx, audit.workspaceId, { fallback_policy_id: target?.id ?? null });
    const committed = await commit(trx, audit, [
      {
        type: 'policy.fallback_changed',
        targetType: 'workspace',
        targetId: audit.workspaceId,
        data: {
          before: previous ? { policyId: previous.id, policyName: previous.name } : null,
          after: target ? { policyId: target.id, policyName: target.name } : null,
          version: updated.version,
        },
      },
    ]);
    changes = committed.policyChanges.length;
  });
  return { result: await assignmentView(db, audit.workspaceId), effectivePolicyChanges: changes };
}

// ---- look-ups ------------------------------------------------------------------------------


async function loadRulesAndFallback(db: Executor, workspaceId: string): Promise<{ rules: RuleView[]; fallback: PolicyRef | null }> {
  const view = await assignmentView(db, workspaceId);
  return {
    rules: view.rules.map((r) => ({ position: r.position, groupId: r.groupId, groupName: r.groupName, policyId: r.policy.id, policyName: r.policy.name, version: r.policy.version })),
    fallback: view.fallback ? { policyId: view.fallback.id, policyName: view.fallback.name, version: view.fallback.version } : null,
  };
}

export interface UserPolicyView {
  user: { id: string; userName: string; displayName: string | null; active: boolean };
  source: 'rule' | 'fallback' | 'none';
  /** The policy Codex enforces for the user, at its current version; null when none applies. */
  policy: { id: string; name: string; version: number; sha256: string } | null;
  matchedRule: { position: number; groupId: string; groupName: string } | null;
  /** Every rule before the one that decided, with why it did not match. */
  skippedRules: SkippedRule[];
  reason: string;
  /** The resolved document: exactly what Accept: application/toml returns. */
  toml: string | null;
  requirements: ParsedPolicy | null;
}

export async function userPolicy(db: Db, workspaceId: string, userRef: string): Promise<UserPolicyView> {
  return consistentRead(db, async (db) => {
    const user = await resolveUserRow(db, workspaceId, userRef);
    const [{ rules, fallback }, groupIds] = await Promise.all([loadRulesAndFallback(db, workspaceId), repo.groupIdsOfUser(db, user.id)]);
    const resolution = resolvePolicy({ active: user.active, groupIds: new Set(groupIds) }, rules, fallback);
    const document = resolution.policy ? await repo.findVersion(db, resolution.policy.policyId, resolution.policy.version) : undefined;
    const displayName = (user.resource).displayName;
    return {
      user: { id: user.id, userName: user.user_name, displayName: typeof displayName === 'string' ? displayName : null, active: user.active },
      source: resolution.source,
      policy: resolution.policy && document ? { id: resolution.policy.policyId, name: resolution.policy.policyName, version: resolution.policy.version, sha256: document.sha256 } : null,
      matchedRule: resolution.rule ? { position: resolution.rule.position, groupId: resolution.rule.groupId!, groupName: resolution.rule.groupName ?? '' } : null,
      skippedRules: resolution.skipped,
      reason: resolution.reason,
      toml: document?.toml ?? null,
      requirements: (document?.parsed) ?? null,
    };
  });
}

export interface GroupPolicyView {
  group: { id: string; displayName: string };
  /** The rule that names this group, if any, and the policy it assigns. */
  rule: { position: number; policy: { id: string; name: string; version: number } } | null;
  /** Earlier rules: a member who is also in one of their groups gets that rule's policy instead. */
  earlierRules: Array<{ position: number; groupId: string | null; groupName: string; policy: { id: string; name: string } }>;
  /** What a member of only this group gets. */
  policyForMembers: { id: string; name: string; version: number; source: 'rule' | 'fallback' } | null;
  /** What the members actually get, counted by outcome (a deactivated member gets none). */
  members: Array<{ count: number; active: boolean; source: 'rule' | 'fallback' | 'none'; policy: { id: string; name: string; version: number } | null; ruleGroupId: string | null }>;
}

export async function groupPolicy(db: Db, workspaceId: string, groupId: string): Promise<GroupPolicyView> {
  return consistentRead(db, async (db) => {
    const [group] = await repo.groupsByIds(db, workspaceId, [await resolveGroupRef(db, workspaceId, groupId)]);
    if (!group) throw notFound('group', groupId);
    const view = await assignmentView(db, workspaceId);
    const rule = view.rules.find((r) => r.groupId === group.id) ?? null;
    const earlier = view.rules.filter((r) => rule === null || r.position < rule.position);
    const outcomes = await repo.groupMemberOutcomes(db, workspaceId, group.id);
    return {
      group: { id: group.id, displayName: group.display_name },
      rule: rule ? { position: rule.position, policy: rule.policy } : null,
      earlierRules: rule ? earlier.map((r) => ({ position: r.position, groupId: r.groupId, groupName: r.groupName, policy: { id: r.policy.id, name: r.policy.name } })) : [],
      policyForMembers: rule ? { ...rule.policy, source: 'rule' } : view.fallback ? { ...view.fallback, source: 'fallback' } : null,
      members: outcomes.map((o) => ({
        count: Number(o.users),
        active: o.active,
        source: o.source ?? 'none',
        policy: o.policy_id ? { id: o.policy_id, name: o.policy_name ?? '', version: Number(o.policy_version) } : null,
        ruleGroupId: o.rule_group_id,
      })),
    };
  });
}

export interface PolicyUser {
  id: string;
  userName: string;
  displayName: string | null;
  version: number;
  source: 'rule' | 'fallback';
  ruleGroupId: string | null;
}

export async function policyUsers(db: Db, workspaceId: string, policyId: string, query: { cursor?: string; limit: number; includeTotal?: boolean }): Promise<Page<PolicyUser> & { total?: number }> {
  return consistentRead(db, async (db) => {
    const policy = await repo.findPolicy(db, workspaceId, policyId);
    if (!policy) throw notFound('policy', policyId);
    const position = decodeCursor(query.cursor, 1);
    if (position && !isUuid(position[0]!)) throw invalid('cursor', 'cursor is not a cursor this API returned');
    const rows = await repo.policyUsersPage(db, workspaceId, policy.id, position?.[0], query.limit + 1);
    const more = rows.length > query.limit;
    const items = (more ? rows.slice(0, query.limit) : rows).map((r) => ({
      id: r.id,
      userName: r.user_name,
      displayName: r.display_name,
      version: r.policy_version,
      source: r.source,
      ruleGroupId: r.rule_group_id,
    }));
    const page: Page<PolicyUser> & { total?: number } = { items, nextCursor: more ? encodeCursor([items[items.length - 1]!.id]) : null };
    if (query.includeTotal) page.total = await repo.countPolicyUsers(db, workspaceId, policy.id);
    return page;
  });
}
