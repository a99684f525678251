import fc from 'fast-check';
import t from 'tap';
import type { AuditEvent } from '../../src/audit/types.js';
import { listEventsBySeq } from '../../src/repositories/audit-query.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { groupMembersAsOf, verifyAudit } from '../../src/services/audit-query.service.js';
import { scaled } from '../helpers/db.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { buildTestApp, TEST_ACTOR, type TestApp } from '../helpers/app.js';
import { body, GROUP, PATCH, USER } from './helpers.js';

// Property: after any sequence of SCIM operations through the real app, (1) replaying the member
// events from empty reproduces group_members exactly, and (2) every user's user_access row is the
// end of an unbroken chain of access.changed events (before = the previous after, starting from
// nothing), each naming a cause that precedes it. Failed requests must leave no event behind.

const base = await buildTestApp(t);
const { db } = base.db;

// Names the seeded displayName mappings grant access to, and two that grant nothing.
const GROUP_NAMES = ['codex-admins', 'codex-local-users', 'codex-cloud-users', 'codex-restricted', 'engineering', 'sales'];

type Op =
  | { kind: 'createUser' }
  | { kind: 'createGroup'; name: number; members: number[] }
  | { kind: 'add'; group: number; users: number[] }
  | { kind: 'remove'; group: number; users: number[]; byFilter: boolean }
  | { kind: 'mixed'; group: number; add: number[]; remove: number[] }
  | { kind: 'put'; group: number; users: number[] }
  | { kind: 'deleteUser'; user: number }
  | { kind: 'deleteGroup'; group: number }
  | { kind: 'active'; user: number; active: boolean };

const idx = fc.nat({ max: 50 });
const idxs = fc.array(idx, { maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'createUser' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('createGroup' as const), name: fc.nat({ max: GROUP_NAMES.length - 1 }), members: idxs }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), group: idx, users: idxs }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), group: idx, users: idxs, byFilter: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mixed' as const), group: idx, add: idxs, remove: idxs }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('put' as const), group: idx, users: idxs }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteUser' as const), user: idx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteGroup' as const), group: idx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('active' as const), user: idx, active: fc.boolean() }) },
);

let run = 0;

/** A fresh workspace (seeded with the recommended roles and mappings) and a SCIM client for it. */
async function freshWorkspace(): Promise<{ workspaceId: string; scim: TestApp['scim'] }> {
  const { workspace } = await ensureWorkspace(db, `prop-${++run}-${Date.now()}`);
  const { token } = await createScimToken(db, { workspaceId: workspace.id }, TEST_ACTOR);
  const scim: TestApp['scim'] = (method, url, payload) =>
    base.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/scim+json' }) },
      payload: payload === undefined ? undefined : JSON.stringify(payload),
    });
  return { workspaceId: workspace.id, scim };
}

async function allEvents(workspaceId: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (let after = 0; ; ) {
    const page = await listEventsBySeq(db, workspaceId, after, Number.MAX_SAFE_INTEGER, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

async function eventTotal(workspaceId: string): Promise<number> {
  const row = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow();
  return Number(row.n);
}

interface Scenario {
  /** Users and groups created first (groups with distinct names and some of the users), then random operations. */
  users: number;
  groups: Array<{ name: number; members: number[] }>;
  ops: Op[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  users: fc.integer({ min: 1, max: 6 }),
  groups: fc.uniqueArray(fc.record({ name: fc.nat({ max: GROUP_NAMES.length - 1 }), members: idxs }), { minLength: 1, maxLength: 3, selector: (g) => g.name }),
  ops: fc.array(opArb, { maxLength: 20 }),
});

function withPrelude(s: Scenario): Op[] {
  return [...Array.from({ length: s.users }, (): Op => ({ kind: 'createUser' })), ...s.groups.map((g): Op => ({ kind: 'createGroup', ...g })), ...s.ops];
}

async function execute(ops: Op[]): Promise<{ workspaceId: string; log: string[] }> {
  const { workspaceId, scim } = await freshWorkspace();
  const users: string[] = [];
  const groups: string[] = [];
  const log: string[] = [];
  const pick = (pool: string[], i: number) => (pool.length === 0 ? undefined : pool[i % pool.length]);
  const picks = (pool: string[], is: number[]) => [...new Set(is.map((i) => pick(pool, i)).filter((v): v is string => v !== undefined))];
  const members = (ids: string[]) => ids.map((value) => ({ value }));

  for (const op of ops) {
    const before = await eventTotal(workspaceId);
    let res;
    switch (op.kind) {
      case 'createUser':
        res = await scim('POST', '/Users', { schemas: [USER], userName: `user${users.length}-${run}@example.com`, active: true });
        if (res.statusCode === 201) users.push(body(res).id);
        break;
      case 'createGroup':
        res = await scim('POST', '/Groups', { schemas: [GROUP], displayName: GROUP_NAMES[op.name], members: members(picks(users, op.members)) });
        if (res.statusCode === 201) groups.push(body(res).id);
        break;
      case 'add':
      case 'remove':
      case 'mixed': {
        const group = pick(groups, op.group);
        if (!group) continue;
        const operations =
          op.kind === 'add'
            ? [{ op: 'Add', path: 'members', value: members(picks(users, op.users)) }]
            : op.kind === 'remove'
              ? op.byFilter
                ? picks(users, op.users).map((u) => ({ op: 'remove', path: `members[value eq "${u}"]` }))
                : [{ op: 'Remove', path: 'members', value: members(picks(users, op.users)) }]
              : [
                  { op: 'add', path: 'members', value: members(picks(users, op.add)) },
                  { op: 'remove', path: 'members', value: members(picks(users, op.remove)) },
                ];
        if (operations.length === 0) continue;
        res = await scim('PATCH', `/Groups/${group}`, { schemas: [PATCH], Operations: operations });
        break;
      }
      case 'put': {
        const group = pick(groups, op.group);
        if (!group) continue;
        const current = body(await scim('GET', `/Groups/${group}`));
        res = await scim('PUT', `/Groups/${group}`, { schemas: [GROUP], displayName: current.displayName, members: members(picks(users, op.users)) });
        break;
      }
      case 'deleteUser': {
        const user = pick(users, op.user);
        if (!user) continue;
        res = await scim('DELETE', `/Users/${user}`);
        if (res.statusCode === 204) users.splice(users.indexOf(user), 1);
        break;
      }
      case 'deleteGroup': {
        const group = pick(groups, op.group);
        if (!group) continue;
        res = await scim('DELETE', `/Groups/${group}`);
        if (res.statusCode === 204) groups.splice(groups.indexOf(group), 1);
        break;
      }
      case 'active': {
        const user = pick(users, op.user);
        if (!user) continue;
        // Entra's string form and Okta's path-less form.
        const operation = op.active ? { op: 'replace', value: { active: true } } : { op: 'Replace', path: 'active', value: 'False' };
        res = await scim('PATCH', `/Users/${user}`, { schemas: [PATCH], Operations: [operation] });
        break;
      }
    }
    log.push(`${op.kind} → ${res.statusCode}`);
    if (process.env.AUDIT_PROPERTY_STATS) console.error('OP', op.kind, res.statusCode);
    if (res.statusCode >= 500) throw new Error(`${op.kind}: HTTP ${res.statusCode} ${res.body}`);
    if (res.statusCode >= 400 && (await eventTotal(workspaceId)) !== before) throw new Error(`${op.kind} failed with ${res.statusCode} but left events behind`);
  }
  return { workspaceId, log };
}

async function checkInvariants(workspaceId: string): Promise<void> {
  const events = await allEvents(workspaceId);
  const ids = new Map(events.map((e) => [e.id, e.seq]));

  // (1) Memberships: replay from empty.
  const replayed = new Set<string>();
  for (const e of events) {
    if (e.type !== 'group.member_added' && e.type !== 'group.member_removed') continue;
    const key = `${e.targetId} ${String(e.data.userId)}`;
    if (e.type === 'group.member_added') {
      if (replayed.has(key)) throw new Error(`seq ${e.seq}: member_added for a member`);
      replayed.add(key);
    } else {
      if (!replayed.delete(key)) throw new Error(`seq ${e.seq}: member_removed for a non-member`);
    }
  }
  const rows = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.group_id', 'group_members.user_id'])
    .where('groups.workspace_id', '=', workspaceId)
    .execute();
  const actual = new Set(rows.map((r) => `${r.group_id} ${r.user_id}`));
  const replayedList = JSON.stringify([...replayed].sort());
  if (replayedList !== JSON.stringify([...actual].sort())) throw new Error(`replayed memberships ${replayedList} differ from group_members ${JSON.stringify([...actual].sort())}`);

  // The same replay in SQL, through the point-in-time service.
  const groupIds = [...new Set(events.filter((e) => e.type === 'group.created').map((e) => e.targetId))];
  for (const g of groupIds) {
    const asOf = await groupMembersAsOf(db, workspaceId, g, new Date(Date.now() + 1000), { limit: 1000 });
    const expected = [...actual].filter((k) => k.startsWith(`${g} `)).map((k) => k.split(' ')[1]!).sort();
    if (JSON.stringify(asOf.members.map((m) => m.userId)) !== JSON.stringify(expected)) throw new Error(`as-of members of ${g} differ from group_members`);
  }

  // (2) Effective access: every user_access row (permissions and own roles) is explained by an
  // unbroken access.changed chain.
  const chains = new Map<string, AuditEvent[]>();
  for (const e of events) if (e.type === 'access.changed') chains.set(e.targetId, [...(chains.get(e.targetId) ?? []), e]);
  const access = await db.selectFrom('user_access').select(['user_id', 'granted', 'role_ids']).where('workspace_id', '=', workspaceId).execute();
  const snapshot = new Map(access.map((r) => [r.user_id, JSON.stringify([[...r.granted].sort(), [...r.role_ids].sort()])]));
  for (const userId of new Set([...chains.keys(), ...snapshot.keys()])) {
    let held: string[] = [];
    let roles: string[] = [];
    for (const e of chains.get(userId) ?? []) {
      const data = e.data as { before: string[]; after: string[]; granted: string[]; revoked: string[]; rolesBefore: string[]; rolesAfter: string[] };
      if (JSON.stringify(data.before) !== JSON.stringify(held)) throw new Error(`seq ${e.seq}: access.changed before ${JSON.stringify(data.before)} but the user held ${JSON.stringify(held)}`);
      if (JSON.stringify(data.rolesBefore) !== JSON.stringify(roles)) throw new Error(`seq ${e.seq}: access.changed rolesBefore ${JSON.stringify(data.rolesBefore)} but the user held ${JSON.stringify(roles)}`);
      const granted = data.after.filter((p) => !data.before.includes(p));
      const revoked = data.before.filter((p) => !data.after.includes(p));
      if (JSON.stringify(granted) !== JSON.stringify(data.granted) || JSON.stringify(revoked) !== JSON.stringify(data.revoked)) throw new Error(`seq ${e.seq}: granted/revoked disagree with before/after`);
      if (granted.length + revoked.length === 0 && JSON.stringify(data.rolesBefore) === JSON.stringify(data.rolesAfter)) throw new Error(`seq ${e.seq}: access.changed that changes nothing`);
      const causeSeq = e.causeId ? ids.get(e.causeId) : undefined;
      if (causeSeq === undefined || causeSeq >= e.seq) throw new Error(`seq ${e.seq}: cause ${e.causeId} is not an earlier event`);
      held = data.after;
      roles = data.rolesAfter;
    }
    const now = snapshot.get(userId) ?? JSON.stringify([[], []]);
    if (JSON.stringify([[...held].sort(), [...roles].sort()]) !== now) {
      throw new Error(`user ${userId}: user_access holds ${now}, the access.changed chain ends at ${JSON.stringify([held, roles])}`);
    }
  }

  if (process.env.AUDIT_PROPERTY_STATS) console.error('STATS', events.filter((e) => e.type.startsWith('group.member')).length, events.filter((e) => e.type === 'access.changed').length, actual.size);
  const report = await verifyAudit(db, workspaceId);
  if (!report.ok) throw new Error(`verify: ${JSON.stringify(report.firstBroken)}`);
}

t.test('random SCIM operations: member events replay to group_members; access changes are explained', async (t) => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      const { workspaceId, log } = await execute(withPrelude(scenario));
      try {
        await checkInvariants(workspaceId);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n  after: ${log.join(', ')}`);
      }
    }),
    { numRuns: Number(process.env.AUDIT_PROPERTY_RUNS ?? scaled(15, 8)), ...(process.env.AUDIT_PROPERTY_SEED ? { seed: Number(process.env.AUDIT_PROPERTY_SEED) } : {}) },
  );
  t.pass('property held');
});

t.test('the checker has teeth: a change made behind the audit trail is caught', async (t) => {
  const { workspaceId } = await execute(withPrelude({ users: 3, groups: [{ name: 4, members: [0] }], ops: [] }));
  await checkInvariants(workspaceId);
  const group = (await db.selectFrom('groups').select('id').where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow()).id;
  const users = await db.selectFrom('users').select('id').where('workspace_id', '=', workspaceId).execute();
  const member = (await db.selectFrom('group_members').select('user_id').where('group_id', '=', group).executeTakeFirstOrThrow()).user_id;
  const stranger = users.map((u) => u.id).find((id) => id !== member)!;
  await db.insertInto('group_members').values({ group_id: group, user_id: stranger, workspace_id: workspaceId }).execute();
  await t.rejects(checkInvariants(workspaceId), /differ from group_members/, 'an unrecorded membership');
  await db.deleteFrom('group_members').where('group_id', '=', group).where('user_id', '=', stranger).execute();
  await checkInvariants(workspaceId);
  await db.updateTable('user_access').set({ granted: ['codex_admin'] }).where('workspace_id', '=', workspaceId).where('user_id', '=', member).execute();
  await t.rejects(checkInvariants(workspaceId), /user_access holds/, 'an unrecorded access change');
});
