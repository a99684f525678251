import { Type, type FastifyPluginAsyncTypebox, type TSchema } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { adminAudit } from '../../plugins/admin-auth.js';
import { DomainError } from '../../services/admin-errors.js';
import * as effectivePolicy from '../../services/effective-policy.service.js';
import * as assignment from '../../services/policy-assignment.service.js';
import * as policies from '../../services/policies.service.js';
import { Cursor, errors, GroupRefParam, Limit, Name, Nullable, Page, Timestamp, UserRef, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';
import { POLICY_CHANGED_HEADER, sendWrite } from './write-result.js';

// Managed policies (requirements.toml): policies and their versions, the ordered group → policy
// rules with a fallback, and which policy a user or group gets and why. Owners and Codex admins
// manage; compliance admins read.

const tags = ['Managed policies'];
const read = { adminAccess: 'read' as const };
const manage = { adminAccess: 'manage' as const, dryRun: true };

/** Header of every policy write: how many users' effective policy it changed. */
const WRITE_NOTE =
  `The ${POLICY_CHANGED_HEADER} response header says how many users' effective policy the change altered; ` +
  'each of those changes is in the audit trail as a policy.effective_changed event caused by this one.';

const TOML = 'application/toml';

// ---- schemas -------------------------------------------------------------------------------

const AdminErrorRef = (description: string) => Type.Ref('AdminError', { description });
const preconditionFailed = { 412: AdminErrorRef('If-Match names another version: read again and retry') };

const Problem = Type.Object(
  {
    line: Type.Optional(Type.Integer({ description: '1-based line in the TOML text' })),
    column: Type.Optional(Type.Integer()),
    key: Type.Optional(Type.String({ description: 'Dotted key path, e.g. rules.prefix_rules[0].decision' })),
    message: Type.String(),
  },
  { title: 'PolicyProblem' },
);

const Requirements = Type.Object({}, { additionalProperties: true, title: 'Requirements', description: 'The parsed requirements.toml, as JSON' });

const Policy = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Nullable(Type.String()),
    currentVersion: Type.Integer({ description: 'The version users get; also the ETag' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    usage: Type.Object({
      rulePositions: Type.Array(Type.Integer(), { description: 'Positions of the rules that assign this policy' }),
      isFallback: Type.Boolean(),
      userCount: Type.Integer({ description: 'Users whose effective policy this is' }),
    }),
  },
  { title: 'Policy' },
);

const VersionFields = {
  policyId: Uuid,
  version: Type.Integer(),
  sha256: Type.String({ description: 'SHA-256 (hex) of the TOML text' }),
  warnings: Type.Array(Problem, { description: 'Unknown keys found when the version was saved' }),
  createdAt: Timestamp,
  createdBy: Type.String({ description: 'The admin who saved it' }),
};
const PolicyVersion = Type.Object(VersionFields, { title: 'PolicyVersion' });
const PolicyDocument = Type.Object(
  { ...VersionFields, toml: Type.String({ description: 'Exactly the text that was saved' }), requirements: Requirements },
  { title: 'PolicyDocument' },
);

const PolicyWithDocument = Type.Object({ policy: Policy, document: PolicyDocument }, { title: 'PolicyWithDocument' });
const SavedPolicy = Type.Object(
  { policy: Policy, document: PolicyDocument, warnings: Type.Array(Problem, { description: 'Accepted, but worth a look: keys the bridge does not know' }) },
  { title: 'SavedPolicy' },
);

const TomlText = Type.String({
  minLength: 0,
  maxLength: policies.MAX_TOML_BYTES,
  description: 'The requirements.toml text. Invalid TOML or a wrong value of a documented key → 400 naming the line and key; unknown keys are accepted with a warning.',
});
const PolicyName = Name(policies.MAX_POLICY_NAME);
const Description = Nullable(Type.String({ maxLength: policies.MAX_POLICY_DESCRIPTION }));

const CreatePolicy = Type.Object({ name: PolicyName, description: Type.Optional(Description), toml: TomlText }, { additionalProperties: false });
const UpdatePolicy = Type.Object(
  { name: Type.Optional(PolicyName), description: Type.Optional(Description), toml: Type.Optional(TomlText) },
  { additionalProperties: false },
);

const PolicyRef = Type.Object({ id: Uuid, name: Type.String(), version: Type.Integer() });
const Rule = Type.Object(
  {
    position: Type.Integer({ minimum: 1 }),
    groupId: Nullable(Uuid),
    groupName: Type.String(),
    groupDeleted: Type.Boolean({ description: 'The group is gone: the rule matches nobody until it is removed' }),
    policy: PolicyRef,
  },
  { title: 'PolicyRule' },
);
const Assignment = Type.Object(
  {
    version: Type.Integer({ description: 'Send back as If-Match to change the rules or the fallback (also the ETag)' }),
    rules: Type.Array(Rule, { description: 'In order: the first rule whose group contains the user decides' }),
    fallback: Nullable(PolicyRef),
  },
  { title: 'PolicyAssignment' },
);
const ReplaceRules = Type.Object(
  {
    rules: Type.Array(Type.Object({ groupId: Uuid, policyId: Uuid }, { additionalProperties: false }), {
      maxItems: policies.MAX_RULES,
      description: 'The whole new order; position 1 first',
    }),
  },
  { additionalProperties: false },
);
const SetFallback = Type.Object({ policyId: Uuid }, { additionalProperties: false });

const SkippedRule = Type.Object({
  position: Type.Integer(),
  groupId: Nullable(Uuid),
  groupName: Nullable(Type.String()),
  policyId: Uuid,
  reason: Type.Union([Type.Literal('not_a_member'), Type.Literal('group_deleted')]),
  detail: Type.String(),
});
const Source = Type.Union([Type.Literal('rule'), Type.Literal('fallback'), Type.Literal('none')]);

export const UserPolicy = Type.Object(
  {
    user: Type.Object({ id: Uuid, userName: Type.String(), displayName: Nullable(Type.String()), active: Type.Boolean() }),
    source: Source,
    policy: Nullable(Type.Object({ id: Uuid, name: Type.String(), version: Type.Integer(), sha256: Type.String() })),
    matchedRule: Nullable(Type.Object({ position: Type.Integer(), groupId: Uuid, groupName: Type.String() })),
    skippedRules: Type.Array(SkippedRule, { description: 'Every rule before the one that decided, and why it did not match' }),
    reason: Type.String(),
    toml: Nullable(Type.String({ description: 'The resolved document, exactly as Accept: application/toml returns it' })),
    requirements: Nullable(Requirements),
  },
  { title: 'UserPolicy' },
);

const GroupPolicy = Type.Object(
  {
    group: Type.Object({ id: Uuid, displayName: Type.String() }),
    rule: Nullable(Type.Object({ position: Type.Integer(), policy: PolicyRef })),
    earlierRules: Type.Array(
      Type.Object({ position: Type.Integer(), groupId: Nullable(Uuid), groupName: Type.String(), policy: Type.Object({ id: Uuid, name: Type.String() }) }),
      { description: "Rules before this group's: a member also in one of their groups gets that rule's policy" },
    ),
    policyForMembers: Nullable(
      Type.Object({ id: Uuid, name: Type.String(), version: Type.Integer(), source: Type.Union([Type.Literal('rule'), Type.Literal('fallback')]) }, {
        description: 'What a member of only this group gets',
      }),
    ),
    members: Type.Array(
      Type.Object({ count: Type.Integer(), active: Type.Boolean(), source: Source, policy: Nullable(PolicyRef), ruleGroupId: Nullable(Uuid) }),
      { description: 'What the members actually get, counted by outcome' },
    ),
  },
  { title: 'GroupPolicy' },
);

const PolicyUser = Type.Object({
  id: Uuid,
  userName: Type.String(),
  displayName: Nullable(Type.String()),
  version: Type.Integer(),
  source: Type.Union([Type.Literal('rule'), Type.Literal('fallback')]),
  ruleGroupId: Nullable(Uuid),
});
const PolicyUserPage = Type.Object(
  {
    items: Type.Array(PolicyUser),
    nextCursor: Nullable(Type.String()),
    total: Type.Optional(Type.Integer({ description: 'Only with includeTotal=true' })),
  },
  { title: 'PolicyUserPage' },
);

const PolicyParams = Type.Object({ id: Uuid });
// Declared optional even where it is required: a missing If-Match is 428, not a validation 400.
const IfMatchHeader = (required: boolean) =>
  Type.Object({
    'if-match': Type.Optional(
      Type.String({
        description: required
          ? 'Required: the version (ETag) of GET /policy-rules (428 without it, 412 when it moved)'
          : 'The current version (ETag); the change fails with 412 if it moved',
      }),
    ),
  });

/** A 200 that is JSON, or the TOML text with Accept: application/toml. */
function jsonOrToml(schema: TSchema, description: string) {
  return { description, content: { 'application/json': { schema }, [TOML]: { schema: Type.String({ description: 'The TOML text' }) } } };
}

// ---- helpers -------------------------------------------------------------------------------

/** Whether the client prefers TOML over JSON (Accept q-values; JSON when equal or absent). */
export function wantsToml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  let toml = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    const weight = Number.isFinite(q) ? q : 0;
    const type = range.trim();
    if (type === TOML) toml = Math.max(toml, weight);
    else if (type === 'application/json') json = Math.max(json, weight);
    else if (type === '*/*' || type === 'application/*') json = Math.max(json, weight * 0.999); // wildcards: JSON, unless TOML is named
  }
  return toml > 0 && toml > json;
}

function sendToml(reply: FastifyReply, toml: string, tag: string): FastifyReply {
  return reply.header('etag', tag).type(`${TOML}; charset=utf-8`).send(toml);
}

// ---- routes --------------------------------------------------------------------------------

const policiesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/policies',
    {
      config: read,
      schema: {
        tags,
        summary: 'List policies',
        description: 'In name order, with where each is used.',
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(Policy, 'PolicyPage'), ...errors(400) },
      },
    },
    async (request) => policies.listPolicies(app.db, request.admin.workspaceId, { cursor: request.query.cursor, limit: request.query.limit }),
  );

  app.post(
    '/policies',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Create a policy (version 1)',
        description: 'Nobody gets a new policy until a rule or the fallback names it.',
        body: CreatePolicy,
        response: { 201: SavedPolicy, ...errors(400, 409) },
      },
    },
    async (request, reply) => {
      const write = await policies.createPolicy(app.db, adminAudit(request), request.body);
      reply.header('etag', policies.etag(write.result.policy.currentVersion)).header('location', `${request.url.replace(/\/$/, '')}/${write.result.policy.id}`);
      return sendWrite(reply, write, 201);
    },
  );

  app.get(
    '/policies/:id',
    {
      config: read,
      schema: {
        tags,
        summary: 'Get a policy with its current version',
        description: `The ETag is the current version. With Accept: ${TOML}, the current version's TOML text.`,
        params: PolicyParams,
        response: { 200: jsonOrToml(PolicyWithDocument, 'The policy'), ...errors(404) },
      },
    },
    async (request, reply) => {
      const result = await policies.getPolicy(app.db, request.admin.workspaceId, request.params.id);
      if (wantsToml(request)) return sendToml(reply, result.document.toml, policies.etag(result.policy.currentVersion));
      return reply.header('etag', policies.etag(result.policy.currentVersion)).send(result);
    },
  );

  app.patch(
    '/policies/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Rename, re-describe, or save a new version',
        description:
          'A `toml` that differs from the current version is saved as the next version, immutable, which every user of the policy gets at once; ' +
          `earlier versions stay readable. If-Match (optional) must name the current version. ${WRITE_NOTE}`,
        params: PolicyParams,
        headers: IfMatchHeader(false),
        body: UpdatePolicy,
        response: { 200: SavedPolicy, ...errors(400, 404, 409), ...preconditionFailed },
      },
    },
    async (request, reply) => {
      const write = await policies.updatePolicy(app.db, adminAudit(request), request.params.id, request.body, request.headers['if-match']);
      reply.header('etag', policies.etag(write.result.policy.currentVersion));
      return sendWrite(reply, write);
    },
  );

  app.delete(
    '/policies/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Delete a policy and its versions',
        description: 'Refused (409) while a rule or the fallback names the policy. The texts of its versions remain in the audit trail.',
        params: PolicyParams,
        headers: IfMatchHeader(false),
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(404, 409), ...preconditionFailed },
      },
    },
    async (request, reply) => sendWrite(reply, await policies.deletePolicy(app.db, adminAudit(request), request.params.id, request.headers['if-match']), 204),
  );

  app.get(
    '/policies/:id/versions',
    {
      config: read,
      schema: {
        tags,
        summary: "A policy's versions, newest first",
        params: PolicyParams,
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: { 200: Page(PolicyVersion, 'PolicyVersionPage'), ...errors(400, 404) },
      },
    },
    async (request) =>
      policies.listVersions(app.db, request.admin.workspaceId, request.params.id, { cursor: request.query.cursor, limit: request.query.limit }),
  );

  app.get(
    '/policies/:id/versions/:version',
    {
      config: read,
      schema: {
        tags,
        summary: 'One version of a policy',
        description: `With Accept: ${TOML}, its TOML text.`,
        params: Type.Object({ id: Uuid, version: Type.Integer({ minimum: 1 }) }),
        response: { 200: jsonOrToml(PolicyDocument, 'The version'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const doc = await policies.getVersion(app.db, request.admin.workspaceId, request.params.id, request.params.version);
      if (wantsToml(request)) return sendToml(reply, doc.toml, policies.etag(doc.version));
      return reply.send(doc);
    },
  );

  app.get(
    '/policies/:id/users',
    {
      config: read,
      schema: {
        tags,
        summary: 'Users the policy applies to',
        description: 'In user-id order, a page at a time, from the maintained per-user snapshot.',
        params: PolicyParams,
        querystring: Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Cursor), includeTotal: Type.Optional(Type.Boolean()) }),
        response: { 200: PolicyUserPage, ...errors(400, 404) },
      },
    },
    async (request) =>
      effectivePolicy.policyUsers(app.db, request.admin.workspaceId, request.params.id, {
        cursor: request.query.cursor,
        limit: request.query.limit,
        includeTotal: request.query.includeTotal,
      }),
  );

  app.get(
    '/policy-rules',
    {
      config: read,
      schema: { tags, summary: 'The ordered rules and the fallback', description: 'The ETag is the version to send as If-Match.', response: { 200: Assignment, ...errors() } },
    },
    async (request, reply) => {
      const view = await assignment.getAssignment(app.db, request.admin.workspaceId);
      return reply.header('etag', policies.etag(view.version)).send(view);
    },
  );

  app.put(
    '/policy-rules',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Replace the whole rule order',
        description:
          'Atomic: the new list replaces the old one in one transaction. If-Match is required and must name the current version ' +
          '(412 otherwise, 428 when missing), so two admins cannot interleave their edits. Each group at most once. ' +
          `Rules whose group was deleted are dropped unless sent again (they cannot be: their group is gone). ${WRITE_NOTE}`,
        headers: IfMatchHeader(true),
        body: ReplaceRules,
        response: { 200: Assignment, ...errors(400), ...preconditionFailed, 428: AdminErrorRef('If-Match is missing') },
      },
    },
    async (request, reply) => {
      const write = await assignment.replaceRules(app.db, adminAudit(request), request.body.rules, request.headers['if-match']);
      reply.header('etag', policies.etag(write.result.version));
      return sendWrite(reply, write);
    },
  );

  app.put(
    '/policy-fallback',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Set the fallback policy',
        description: `What users no rule matches get. If-Match (optional) must name the current version of the rules. ${WRITE_NOTE}`,
        headers: IfMatchHeader(false),
        body: SetFallback,
        response: { 200: Assignment, ...errors(400), ...preconditionFailed },
      },
    },
    async (request, reply) => {
      const write = await assignment.setFallback(app.db, adminAudit(request), request.body.policyId, request.headers['if-match']);
      reply.header('etag', policies.etag(write.result.version));
      return sendWrite(reply, write);
    },
  );

  app.delete(
    '/policy-fallback',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Clear the fallback policy',
        description: `Users no rule matches then get no policy. ${WRITE_NOTE}`,
        headers: IfMatchHeader(false),
        response: { 200: Assignment, ...errors(), ...preconditionFailed },
      },
    },
    async (request, reply) => {
      const write = await assignment.setFallback(app.db, adminAudit(request), null, request.headers['if-match']);
      reply.header('etag', policies.etag(write.result.version));
      return sendWrite(reply, write);
    },
  );

  app.get(
    '/users/:user/policy',
    {
      config: read,
      schema: {
        tags,
        summary: "The policy a user gets, and why",
        description:
          'The first rule whose group contains the user decides (nothing merges from later rules); else the fallback; a deactivated user gets none. ' +
          `With Accept: ${TOML}, exactly the TOML text Codex enforces for the user (404 when no policy applies).`,
        params: Type.Object({ user: UserRef }),
        response: { 200: jsonOrToml(UserPolicy, "The user's policy"), ...errors(404, 409) },
      },
    },
    async (request, reply) => {
      const result = await effectivePolicy.userPolicy(app.db, request.admin.workspaceId, request.params.user);
      if (!wantsToml(request)) return reply.send(result);
      if (result.toml === null || result.policy === null) {
        throw new DomainError('not_found', `No policy applies to ${result.user.userName}: ${result.reason}`);
      }
      reply.header('x-policy-id', result.policy.id).header('x-policy-version', String(result.policy.version));
      return sendToml(reply, result.toml, `"${result.policy.id}:${result.policy.version}"`);
    },
  );

  app.get(
    '/groups/:id/policy',
    {
      config: read,
      schema: {
        tags,
        summary: 'The policy a group assigns, and what its members actually get',
        params: Type.Object({ id: GroupRefParam }),
        response: { 200: GroupPolicy, ...errors(400, 404) },
      },
    },
    async (request) => effectivePolicy.groupPolicy(app.db, request.admin.workspaceId, request.params.id),
  );
};

export default policiesRoutes;
