import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { AccessModel, Effect, Mapping, ResolutionStrategy, UserFacts } from '../../src/access/model.js';
import { decide, explain, type Decision } from '../../src/access/resolve.js';
import { assignRole, createMapping, createPermission, createRole, repairEffectiveAccess, updateAccessSettings } from '../../src/services/access.service.js';
import { effectivePermissions } from '../../src/services/effective-access.service.js';
import { patchGroup } from '../../src/services/groups.service.js';
import { createTestDb } from '../helpers/db.js';
import { auditOf, bareWorkspace, insertGroup, insertUsers, latestEvent, scimContext, snapshotOf } from './helpers.js';

// The resolution rules as a table: every case is resolved twice and must give the
// expected granted set both times — by the pure resolver from the table alone, and on the database
// (built through the admin services, recomputed by SQL, explained by effectivePermissions).

const KEYS = ['code_review', 'codex_admin', 'codex_cloud', 'codex_local'] as const;

interface Case {
  name: string;
  strategy?: ResolutionStrategy;
  baselineOn?: string[];
  roles: Record<string, Partial<Record<string, Effect>>>;
  defaultRole?: string;
  /** displayName → attributes */
  groups?: Record<string, { externalId?: string }>;
  /** A mapping names a group of the table by id, externalId or displayName; `value` overrides the name used. */
  mappings?: Array<{ role: string; group: string; by: 'id' | 'externalId' | 'displayName' }>;
  users: Record<string, { active?: boolean; groups?: string[]; direct?: string[] }>;
  expect: Record<string, string[]>;
  /** [user, permission, what decided it, a reason that must be given] */
  why?: Array<[string, string, Decision, RegExp]>;
}

const cases: Case[] = [
  {
    name: 'no role and no default role: the baselines',
    baselineOn: ['codex_local'],
    roles: {},
    users: { u: {} },
    expect: { u: ['codex_local'] },
    why: [
      ['u', 'codex_local', 'baseline', /the user has no role: the workspace baseline \(on\) applies/],
      ['u', 'codex_cloud', 'baseline', /baseline \(off\)/],
    ],
  },
  {
    name: 'overlapping groups, most-permissive: any allow wins over a deny',
    roles: { A: { codex_local: 'allow', codex_cloud: 'deny' }, B: { codex_cloud: 'allow', code_review: 'allow' } },
    groups: { g1: {}, g2: {} },
    mappings: [
      { role: 'A', group: 'g1', by: 'displayName' },
      { role: 'B', group: 'g2', by: 'displayName' },
    ],
    users: { both: { groups: ['g1', 'g2'] }, onlyA: { groups: ['g1'] }, onlyB: { groups: ['g2'] } },
    expect: { both: ['code_review', 'codex_cloud', 'codex_local'], onlyA: ['codex_local'], onlyB: ['code_review', 'codex_cloud'] },
    why: [
      ['both', 'codex_cloud', 'allow', /the deny of role "A" .* is overridden: strategy most-permissive/],
      ['onlyA', 'codex_cloud', 'deny', /denied by role "A" \(via group "g1"/],
    ],
  },
  {
    name: 'overlapping groups, deny-overrides: any deny wins',
    strategy: 'deny-overrides',
    roles: { A: { codex_local: 'allow', codex_cloud: 'deny' }, B: { codex_cloud: 'allow', code_review: 'allow' } },
    groups: { g1: {}, g2: {} },
    mappings: [
      { role: 'A', group: 'g1', by: 'displayName' },
      { role: 'B', group: 'g2', by: 'displayName' },
    ],
    users: { both: { groups: ['g1', 'g2'] }, onlyB: { groups: ['g2'] } },
    expect: { both: ['code_review', 'codex_local'], onlyB: ['code_review', 'codex_cloud'] },
    why: [['both', 'codex_cloud', 'deny', /the allow of role "B" .* is overridden: strategy deny-overrides/]],
  },
  {
    name: 'a deny beats a baseline that is on, in both strategies; an allow needs no baseline',
    baselineOn: ['codex_cloud', 'codex_local'],
    roles: { R: { codex_cloud: 'deny', codex_admin: 'allow' } },
    groups: { restricted: {} },
    mappings: [{ role: 'R', group: 'restricted', by: 'displayName' }],
    users: { r: { groups: ['restricted'] }, plain: {} },
    expect: { r: ['codex_admin', 'codex_local'], plain: ['codex_cloud', 'codex_local'] },
    why: [['r', 'codex_local', 'baseline', /none of the user's roles allows or denies it: the workspace baseline \(on\)/]],
  },
  {
    name: 'the default role applies only to users who end up with no role',
    roles: { D: { codex_local: 'allow' }, Empty: {} },
    defaultRole: 'D',
    groups: { g: {} },
    mappings: [{ role: 'Empty', group: 'g', by: 'displayName' }],
    users: { nobody: {}, member: { groups: ['g'] } },
    expect: { nobody: ['codex_local'], member: [] },
    why: [['nobody', 'codex_local', 'allow', /allowed by role "D" \(the default role, as the user has no other role\)/]],
  },
  {
    name: 'direct roles join the group roles (most-permissive)',
    roles: { Admin: { codex_admin: 'allow' }, Local: { codex_local: 'allow' }, NoLocal: { codex_local: 'deny' } },
    defaultRole: 'Local',
    groups: { g: {} },
    mappings: [{ role: 'Local', group: 'g', by: 'displayName' }],
    users: { both: { groups: ['g'], direct: ['Admin'] }, direct: { direct: ['Admin'] }, denied: { groups: ['g'], direct: ['NoLocal'] } },
    expect: { both: ['codex_admin', 'codex_local'], direct: ['codex_admin'], denied: ['codex_local'] },
    why: [['direct', 'codex_admin', 'allow', /allowed by role "Admin" \(assigned directly\)/]],
  },
  {
    name: 'a direct deny wins under deny-overrides',
    strategy: 'deny-overrides',
    roles: { Local: { codex_local: 'allow' }, NoLocal: { codex_local: 'deny' } },
    groups: { g: {} },
    mappings: [{ role: 'Local', group: 'g', by: 'displayName' }],
    users: { denied: { groups: ['g'], direct: ['NoLocal'] } },
    expect: { denied: [] },
  },
  {
    name: 'deactivated users hold nothing, whatever their roles and baselines',
    baselineOn: ['codex_local'],
    roles: { Admin: { codex_admin: 'allow', codex_cloud: 'allow' } },
    groups: { admins: {} },
    mappings: [{ role: 'Admin', group: 'admins', by: 'displayName' }],
    users: { gone: { active: false, groups: ['admins'], direct: ['Admin'] }, here: { groups: ['admins'] } },
    expect: { gone: [], here: ['codex_admin', 'codex_cloud', 'codex_local'] },
    why: [['gone', 'codex_admin', 'inactive', /deactivated \(active=false\) and holds nothing/]],
  },
  {
    name: 'each kind of mapping reference; displayName is case-insensitive; an unpushed group matches nothing',
    roles: { ById: { codex_local: 'allow' }, ByExt: { codex_cloud: 'allow' }, ByName: { code_review: 'allow' }, Future: { codex_admin: 'allow' } },
    groups: { 'Engineering-All': { externalId: 'okta-00g1' }, 'Codex-Reviewers': {} },
    mappings: [
      { role: 'ById', group: 'Engineering-All', by: 'id' },
      { role: 'ByExt', group: 'Engineering-All', by: 'externalId' },
      { role: 'ByName', group: 'codex-REVIEWERS', by: 'displayName' },
      { role: 'Future', group: 'codex-admins', by: 'displayName' },
    ],
    users: { eng: { groups: ['Engineering-All'] }, rev: { groups: ['Codex-Reviewers'] } },
    expect: { eng: ['codex_cloud', 'codex_local'], rev: ['code_review'] },
    why: [
      ['eng', 'codex_local', 'allow', /via group "Engineering-All" \(mapping [0-9a-f-]+ names its id\)/],
      ['eng', 'codex_cloud', 'allow', /matches its externalId "okta-00g1"/],
      ['rev', 'code_review', 'allow', /via group "Codex-Reviewers" \(mapping [0-9a-f-]+ matches its displayName "codex-REVIEWERS"\)/],
    ],
  },
];

/** The case as a model for the pure resolver, with made-up ids. */
function pureModel(c: Case): { model: AccessModel; users: UserFacts[]; names: Map<string, string> } {
  const roleIds = new Map(Object.keys(c.roles).map((name) => [name, randomUUID()]));
  const groups = new Map(Object.entries(c.groups ?? {}).map(([name, g]) => [name, { id: randomUUID(), displayName: name, externalId: g.externalId ?? null }]));
  const mappings = (c.mappings ?? []).map((m): Mapping => {
    const group = groups.get(m.group);
    return {
      id: randomUUID(),
      roleId: roleIds.get(m.role)!,
      groupId: m.by === 'id' ? group!.id : null,
      groupExternalId: m.by === 'externalId' ? group!.externalId : null,
      groupDisplayName: m.by === 'displayName' ? m.group : null,
    };
  });
  const model: AccessModel = {
    strategy: c.strategy ?? 'most-permissive',
    defaultRoleId: c.defaultRole ? roleIds.get(c.defaultRole)! : null,
    permissions: KEYS.map((key) => ({ key, description: '', baseline: c.baselineOn?.includes(key) ?? false })),
    roles: Object.entries(c.roles).map(([name, permissions]) => ({ id: roleIds.get(name)!, name, permissions: permissions as Record<string, Effect> })),
    mappings,
  };
  const names = new Map<string, string>();
  const users = Object.entries(c.users).map(([name, u]): UserFacts => {
    const id = randomUUID();
    names.set(id, name);
    return { id, active: u.active ?? true, directRoleIds: (u.direct ?? []).map((r) => roleIds.get(r)!), groups: (u.groups ?? []).map((g) => groups.get(g)!) };
  });
  return { model, users, names };
}

t.test('decide() is the rule of each strategy', async (t) => {
  const table: Array<[ResolutionStrategy, boolean, boolean, boolean, boolean, string]> = [
    // strategy, allowed, denied, baseline → value, decidedBy
    ['most-permissive', true, true, false, true, 'allow'],
    ['most-permissive', false, true, true, false, 'deny'],
    ['most-permissive', true, false, false, true, 'allow'],
    ['most-permissive', false, false, true, true, 'baseline'],
    ['most-permissive', false, false, false, false, 'baseline'],
    ['deny-overrides', true, true, true, false, 'deny'],
    ['deny-overrides', true, false, false, true, 'allow'],
    ['deny-overrides', false, true, true, false, 'deny'],
    ['deny-overrides', false, false, true, true, 'baseline'],
  ];
  for (const [strategy, allowed, denied, baseline, value, decidedBy] of table) {
    t.same(decide(strategy, allowed, denied, baseline), { value, decidedBy }, `${strategy} allow=${allowed} deny=${denied} baseline=${baseline}`);
  }
});

t.test('pure resolver: the table', async (t) => {
  for (const c of cases) {
    const { model, users, names } = pureModel(c);
    for (const user of users) {
      const name = names.get(user.id)!;
      const e = explain(model, user);
      t.same(e.granted, c.expect[name], `${c.name}: ${name}`);
      for (const [who, key, decidedBy, reason] of c.why ?? []) {
        if (who !== name) continue;
        const p = e.permissions.find((x) => x.key === key)!;
        t.equal(p.decidedBy, decidedBy, `${c.name}: ${who}.${key} decided by ${decidedBy}`);
        t.match(p.reasons.join('\n'), reason, `${c.name}: ${who}.${key} reason`);
      }
    }
  }
});

t.test('a deleted user holds nothing', async (t) => {
  const { model, users } = pureModel(cases[7]!);
  const e = explain(model, { ...users[1]!, exists: false });
  t.same(e.granted, []);
  t.same(e.roles, []);
  t.ok(e.permissions.every((p) => p.decidedBy === 'deleted'));
});

t.test('database: the table, through the admin services and the SQL recompute', async (t) => {
  const { db } = await createTestDb(t);
  for (const c of cases) {
    const ws = await bareWorkspace(db);
    const audit = auditOf(ws);
    for (const key of KEYS) await createPermission(db, audit, { key, baseline: c.baselineOn?.includes(key) ?? false });
    const roleIds = new Map<string, string>();
    for (const [name, permissions] of Object.entries(c.roles)) {
      roleIds.set(name, (await createRole(db, audit, { name, permissions: permissions as Record<string, Effect> })).result.id);
    }
    if (c.defaultRole || c.strategy) {
      await updateAccessSettings(db, audit, { ...(c.strategy ? { strategy: c.strategy } : {}), ...(c.defaultRole ? { defaultRoleId: roleIds.get(c.defaultRole)! } : {}) });
    }
    const userIds = new Map<string, string>();
    for (const [name, u] of Object.entries(c.users)) {
      const [id] = await insertUsers(db, ws, [{ userName: `${name}@example.com`, active: u.active ?? true }]);
      userIds.set(name, id!);
    }
    const groupIds = new Map<string, string>();
    for (const [name, g] of Object.entries(c.groups ?? {})) {
      const members = Object.entries(c.users)
        .filter(([, u]) => u.groups?.includes(name))
        .map(([n]) => userIds.get(n)!);
      groupIds.set(name, await insertGroup(db, ws, name, { externalId: g.externalId ?? null, members }));
    }
    for (const m of c.mappings ?? []) {
      const roleId = roleIds.get(m.role)!;
      if (m.by === 'id') await createMapping(db, audit, { roleId, groupId: groupIds.get(m.group)! });
      else if (m.by === 'externalId') await createMapping(db, audit, { roleId, groupExternalId: c.groups![m.group]!.externalId! });
      else await createMapping(db, audit, { roleId, groupDisplayName: m.group });
    }
    for (const [name, u] of Object.entries(c.users)) {
      for (const role of u.direct ?? []) await assignRole(db, audit, userIds.get(name)!, roleIds.get(role)!);
    }
    // Users no write above touched (no group, no direct role) get their first snapshot here.
    await repairEffectiveAccess(db, audit);

    const snapshot = await snapshotOf(db, ws);
    for (const [name, id] of userIds) {
      t.same(snapshot.get(id), c.expect[name], `${c.name}: ${name} (user_access)`);
      const e = await effectivePermissions(db, ws, `${name}@example.com`);
      t.same(e.granted, c.expect[name], `${c.name}: ${name} (explain)`);
      for (const [who, key, decidedBy, reason] of c.why ?? []) {
        if (who !== name) continue;
        const p = e.permissions.find((x) => x.key === key)!;
        t.equal(p.decidedBy, decidedBy, `${c.name}: ${who}.${key} decided by ${decidedBy} (explain)`);
        t.match(p.reasons.join('\n'), reason, `${c.name}: ${who}.${key} reason (explain)`);
      }
    }
  }
});

t.test('a renamed group: a displayName mapping follows the name, an id mapping follows the group', async (t) => {
  const { db } = await createTestDb(t);
  const ws = await bareWorkspace(db);
  const audit = auditOf(ws);
  for (const key of KEYS) await createPermission(db, audit, { key });
  const admin = (await createRole(db, audit, { name: 'Admin', permissions: { codex_admin: 'allow' } })).result;
  const local = (await createRole(db, audit, { name: 'Local', permissions: { codex_local: 'allow' } })).result;
  const [alice, bob] = await insertUsers(db, ws, [{ userName: 'alice@example.com' }, { userName: 'bob@example.com' }]);
  const admins = await insertGroup(db, ws, 'codex-admins', { members: [alice!] });
  const locals = await insertGroup(db, ws, 'codex-local-users', { members: [bob!] });
  await createMapping(db, audit, { roleId: admin.id, groupDisplayName: 'codex-admins' });
  const byId = (await createMapping(db, audit, { roleId: local.id, groupId: locals })).result;
  t.same((await snapshotOf(db, ws)).get(alice!), ['codex_admin']);
  t.same((await snapshotOf(db, ws)).get(bob!), ['codex_local']);

  const scim = scimContext(db, ws);
  const rename = (id: string, displayName: string) =>
    patchGroup(scim, id, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: displayName }] });

  await rename(admins, 'former-admins');
  t.same((await snapshotOf(db, ws)).get(alice!), [], 'the displayName mapping no longer matches: alice loses codex_admin');
  const renamed = await latestEvent(db, ws, 'group.renamed', admins);
  const lost = await latestEvent(db, ws, 'access.changed', alice!);
  t.ok(renamed && lost);
  const lostRow = await db.selectFrom('audit_events').select(['cause_id', 'data']).where('id', '=', lost!.id).executeTakeFirstOrThrow();
  t.equal(lostRow.cause_id, renamed!.id, 'caused by the group.renamed event');
  t.match(lostRow.data, { before: ['codex_admin'], after: [], revoked: ['codex_admin'], granted: [] });
  t.same((await effectivePermissions(db, ws, alice!)).roles, [], 'explain: no role left');

  await rename(locals, 'local-users-renamed');
  t.same((await snapshotOf(db, ws)).get(bob!), ['codex_local'], 'the id mapping still matches: bob keeps codex_local');
  const bobExplained = await effectivePermissions(db, ws, 'bob@example.com');
  t.match(bobExplained.roles, [{ roleName: 'Local', sources: [{ type: 'group', groupDisplayName: 'local-users-renamed', mappingId: byId.id, matchedBy: 'id' }] }]);

  // Another group takes the name: the mapping follows the name to it, with an audit trail.
  const carol = (await insertUsers(db, ws, [{ userName: 'carol@example.com' }]))[0]!;
  const newcomer = await insertGroup(db, ws, 'codex-admins-soon', { members: [carol] });
  await rename(newcomer, 'Codex-Admins');
  t.same((await snapshotOf(db, ws)).get(carol), ['codex_admin'], 'carol gains codex_admin through the name');
  const carolExplained = await effectivePermissions(db, ws, carol);
  const reason = carolExplained.permissions.find((p) => p.key === 'codex_admin')!.reasons.join('\n');
  t.match(reason, /allowed by role "Admin" \(via group "Codex-Admins" \(mapping [0-9a-f-]+ matches its displayName "codex-admins"\)\)/);
  const gained = await latestEvent(db, ws, 'access.changed', carol);
  t.equal(
    (await db.selectFrom('audit_events').select('cause_id').where('id', '=', gained!.id).executeTakeFirstOrThrow()).cause_id,
    (await latestEvent(db, ws, 'group.renamed', newcomer))!.id,
  );
});
