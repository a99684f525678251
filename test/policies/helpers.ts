import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import type { AdminRole } from '../../src/services/admin-tokens.service.js';
import { buildAdminTestApp, type AdminTestApp } from '../routes/admin/helpers.js';

// The real app with admin tokens, plus shortcuts for the SCIM and admin calls policy tests make.

interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface CallOptions {
  body?: unknown;
  as?: AdminRole;
  headers?: Record<string, string>;
}

export interface PolicyTestApp extends AdminTestApp {
  /** An admin API call with extra headers (If-Match, Accept). */
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, options?: CallOptions): Promise<LightMyRequestResponse>;
  /** Creates a SCIM user; returns its id. */
  user(userName: string, extra?: Record<string, unknown>): Promise<string>;
  /** Creates a SCIM group with members; returns its id. */
  group(displayName: string, memberIds?: string[]): Promise<string>;
  addMembers(groupId: string, userIds: string[]): Promise<void>;
  removeMember(groupId: string, userId: string): Promise<void>;
  setActive(userId: string, active: boolean): Promise<void>;
  /** Creates a policy through the API; returns its id. */
  policy(name: string, toml?: string): Promise<string>;
  /** PUT /policy-rules with the current version as If-Match. */
  setRules(rules: Array<{ groupId: string; policyId: string }>): Promise<LightMyRequestResponse>;
  setFallback(policyId: string | null): Promise<LightMyRequestResponse>;
  /** The user_policy snapshot, by user id. */
  snapshot(): Promise<Map<string, { policy_id: string; policy_version: number; source: string; rule_group_id: string | null }>>;
  /** policy.effective_changed events after `afterSeq`, in order. */
  effectiveEvents(afterSeq?: number): Promise<AuditRow[]>;
  lastSeq(): Promise<number>;
  events(afterSeq?: number): Promise<AuditRow[]>;
}

export interface AuditRow {
  id: string;
  seq: number;
  event_type: string;
  target_type: string;
  target_id: string;
  actor_type: string;
  actor_id: string;
  cause_id: string | null;
  data: any;
}

export const json = (res: LightMyRequestResponse): any => JSON.parse(res.body);

export const SIMPLE_TOML = 'allowed_sandbox_modes = ["read-only", "workspace-write"]\n';

export async function buildPolicyTestApp(t: TestContext): Promise<PolicyTestApp> {
  const base = await buildAdminTestApp(t);
  const { app, db, workspaceId, scim, tokens } = base;

  const call: PolicyTestApp['call'] = (method, url, options = {}) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      headers: {
        authorization: `Bearer ${tokens[options.as ?? 'owner']}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      payload: options.body === undefined ? undefined : JSON.stringify(options.body),
    });

  const expectStatus = (res: LightMyRequestResponse, status: number, what: string) => {
    if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
    return res;
  };

  const user: PolicyTestApp['user'] = async (userName, extra = {}) => {
    const res = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, ...extra });
    return json(expectStatus(res, 201, `create user ${userName}`)).id;
  };
  const group: PolicyTestApp['group'] = async (displayName, memberIds = []) => {
    const res = await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName,
      members: memberIds.map((value) => ({ value })),
    });
    return json(expectStatus(res, 201, `create group ${displayName}`)).id;
  };
  const patchGroup = async (groupId: string, operations: unknown[]) => {
    const res = await scim('PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });
    if (res.statusCode !== 200 && res.statusCode !== 204) throw new Error(`patch group: ${res.statusCode} ${res.body}`);
  };
  const addMembers: PolicyTestApp['addMembers'] = (groupId, userIds) => patchGroup(groupId, [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }]);
  const removeMember: PolicyTestApp['removeMember'] = (groupId, userId) => patchGroup(groupId, [{ op: 'remove', path: `members[value eq "${userId}"]` }]);
  const setActive: PolicyTestApp['setActive'] = async (userId, active) => {
    const res = await scim('PATCH', `/Users/${userId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: active }],
    });
    expectStatus(res, 200, 'patch user');
  };
  const policy: PolicyTestApp['policy'] = async (name, toml = SIMPLE_TOML) =>
    json(expectStatus(await call('POST', '/policies', { body: { name, toml } }), 201, `create policy ${name}`)).policy.id;
  const setRules: PolicyTestApp['setRules'] = async (rules) => {
    const current = await call('GET', '/policy-rules');
    return call('PUT', '/policy-rules', { body: { rules }, headers: { 'if-match': String(current.headers.etag) } });
  };
  const setFallback: PolicyTestApp['setFallback'] = (policyId) =>
    policyId === null ? call('DELETE', '/policy-fallback') : call('PUT', '/policy-fallback', { body: { policyId } });

  const snapshot: PolicyTestApp['snapshot'] = async () => {
    const rows = await db.db.selectFrom('user_policy').select(['user_id', 'policy_id', 'policy_version', 'source', 'rule_group_id']).where('workspace_id', '=', workspaceId).execute();
    return new Map(rows.map((r) => [r.user_id, r]));
  };
  const events: PolicyTestApp['events'] = async (afterSeq = 0) => {
    const { rows } = await sql<AuditRow>`
      select id, seq, event_type, target_type, target_id, actor_type, actor_id, cause_id, data
        from audit_events where workspace_id = ${workspaceId} and seq > ${afterSeq} order by seq`.execute(db.db);
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  };
  const effectiveEvents: PolicyTestApp['effectiveEvents'] = async (afterSeq = 0) => (await events(afterSeq)).filter((e) => e.event_type === 'policy.effective_changed');
  const lastSeq: PolicyTestApp['lastSeq'] = async () => {
    const { rows } = await sql<{ seq: number | null }>`select max(seq) as seq from audit_events where workspace_id = ${workspaceId}`.execute(db.db);
    return Number(rows[0]?.seq ?? 0);
  };

  return { ...base, call, user, group, addMembers, removeMember, setActive, policy, setRules, setFallback, snapshot, effectiveEvents, lastSeq, events };
}
