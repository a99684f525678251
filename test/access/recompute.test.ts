import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import t from 'tap';
import type { AccessModel, Effect, EffectSetting, Mapping, ResolutionStrategy, UserFacts } from '../../src/access/model.js';
import { grantedPermissions, ownRoleIds } from '../../src/access/resolve.js';
import type { Db } from '../../src/db/index.js';
import { appendAuditEvents } from '../../src/repositories/audit.repository.js';
import { createMapping, deleteMapping, getRole, setDefaultRole, updateRole } from '../../src/services/access.service.js';
import { effectivePermissionsBatch, recomputeEffectiveAccess } from '../../src/services/effective-access.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDb, scaled } from '../helpers/db.js';
import { accessEvents, auditOf, bareWorkspace, insertUsers, lastSeq, latestEvent, snapshotOf } from './helpers.js';

// The SQL recompute against the pure resolver on random data, and the access.changed events the
// SCIM and admin writes record (with their causes), or do not record when nothing changed.

const KEYS = ['code_review', 'codex_admin', 'codex_cloud', 'codex_local'];
const NAMES = ['alpha', 'Beta', 'gamma', 'DELTA', 'eps', 'Zeta-Team', 'codex-admins'];
const EXTERNAL_IDS = ['ext-1', 'ext-2', 'ext-3'];

interface World {
  strategy: ResolutionStrategy;
  baselines: boolean[];
  roles: EffectSetting[][];
  defaultRole: number | null;
  groups: Array<{ name: number; externalId: number | null }>;
  mappings: Array<{ role: number; kind: 'id' | 'externalId' | 'displayName'; target: number; flipCase: boolean; dangling: boolean }>;
  users: Array<{ active: boolean; groups: number[]; direct: number[] }>;
}

const effect = fc.constantFrom<EffectSetting>('allow', 'deny', 'inherit', 'inherit');
const worldArb: fc.Arbitrary<World> = fc.record({
  strategy: fc.constantFrom<ResolutionStrategy>('most-permissive', 'deny-overrides'),
  baselines: fc.array(fc.boolean(), { minLength: KEYS.length, maxLength: KEYS.length }),
  roles: fc.array(fc.array(effect, { minLength: KEYS.length, maxLength: KEYS.length }), { maxLength: 5 }),
  defaultRole: fc.option(fc.nat(9), { nil: null }),
  groups: fc.array(fc.record({ name: fc.nat(NAMES.length - 1), externalId: fc.option(fc.nat(EXTERNAL_IDS.length - 1), { nil: null }) }), { maxLength: 6 }),
  mappings: fc.array(
    fc.record({ role: fc.nat(9), kind: fc.constantFrom<'id' | 'externalId' | 'displayName'>('id', 'externalId', 'displayName'), target: fc.nat(9), flipCase: fc.boolean(), dangling: fc.boolean() }),
    { maxLength: 8 },
  ),
  users: fc.array(fc.record({ active: fc.boolean(), groups: fc.array(fc.nat(9), { maxLength: 4 }), direct: fc.array(fc.nat(9), { maxLength: 2 }) }), { minLength: 1, maxLength: 10 }),
});

const flip = (s: string) => [...s].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join('');

/** The world as concrete rows (ids, deduplicated names and mappings) and as the pure resolver's input. */
function materialise(w: World): { model: AccessModel; users: UserFacts[]; groups: Array<{ id: string; displayName: string; externalId: string | null }> } {
  const roleIds = w.roles.map(() => randomUUID());
  const seen = new Set<string>();
  const groups = w.groups
    .filter((g) => !seen.has(NAMES[g.name]!.toLowerCase()) && seen.add(NAMES[g.name]!.toLowerCase()))
    .map((g) => ({ id: randomUUID(), displayName: NAMES[g.name]!, externalId: g.externalId === null ? null : EXTERNAL_IDS[g.externalId]! }));
  const mappings: Mapping[] = [];
  const mappingKeys = new Set<string>();
  for (const m of w.mappings) {
    if (roleIds.length === 0) break;
    const roleId = roleIds[m.role % roleIds.length]!;
    const group = groups.length > 0 && !m.dangling ? groups[m.target % groups.length]! : undefined;
    const ref: Omit<Mapping, 'id' | 'roleId'> = { groupId: null, groupExternalId: null, groupDisplayName: null };
    if (m.kind === 'id') ref.groupId = group?.id ?? randomUUID();
    else if (m.kind === 'externalId') ref.groupExternalId = EXTERNAL_IDS[m.target % EXTERNAL_IDS.length]!;
    else ref.groupDisplayName = group ? (m.flipCase ? flip(group.displayName) : group.displayName) : `not-pushed-${m.target}`;
    const key = `${roleId}|${ref.groupId}|${ref.groupExternalId}|${ref.groupDisplayName?.toLowerCase()}`;
    if (mappingKeys.has(key)) continue;
    mappingKeys.add(key);
    mappings.push({ id: randomUUID(), roleId, ...ref });
  }
  const model: AccessModel = {
    strategy: w.strategy,
    defaultRoleId: w.defaultRole !== null && roleIds.length > 0 ? roleIds[w.defaultRole % roleIds.length]! : null,
    permissions: KEYS.map((key, i) => ({ key, description: '', baseline: w.baselines[i]! })),
    roles: w.roles.map((settings, i) => ({
      id: roleIds[i]!,
      name: `role-${i}`,
      permissions: Object.fromEntries(KEYS.map((k, j) => [k, settings[j]!]).filter(([, e]) => e !== 'inherit')) as Record<string, Effect>,
    })),
    mappings,
  };
  const users = w.users.map((u): UserFacts => ({
    id: randomUUID(),
    active: u.active,
    groups: groups.length === 0 ? [] : [...new Set(u.groups.map((g) => g % groups.length))].map((g) => groups[g]!),
    directRoleIds: roleIds.length === 0 ? [] : [...new Set(u.direct.map((r) => roleIds[r % roleIds.length]!))],
  }));
  return { model, users, groups };
}

async function store(db: Db, ws: string, model: AccessModel, users: UserFacts[], groups: Array<{ id: string; displayName: string; externalId: string | null }>): Promise<void> {
  await db.insertInto('permissions').values(model.permissions.map((p) => ({ workspace_id: ws, key: p.key, baseline: p.baseline }))).execute();
  for (const r of model.roles) {
    await db.insertInto('roles').values({ id: r.id, workspace_id: ws, name: r.name }).execute();
    const settings = Object.entries(r.permissions).map(([key, e]) => ({ role_id: r.id, workspace_id: ws, permission_key: key, effect: e }));
    if (settings.length > 0) await db.insertInto('role_permissions').values(settings).execute();
  }
  await db.insertInto('workspace_access_settings').values({ workspace_id: ws, strategy: model.strategy, default_role_id: model.defaultRoleId }).execute();
  await insertUsers(db, ws, users.map((u) => ({ id: u.id, userName: `${u.id}@example.com`, active: u.active })));
  for (const g of groups) {
    await db.insertInto('groups').values({ id: g.id, workspace_id: ws, display_name: g.displayName, external_id: g.externalId, resource: JSON.stringify({ displayName: g.displayName }) }).execute();
  }
  const members = users.flatMap((u) => u.groups.map((g) => ({ group_id: g.id, user_id: u.id, workspace_id: ws })));
  if (members.length > 0) await db.insertInto('group_members').values(members).execute();
  const direct = users.flatMap((u) => u.directRoleIds.map((roleId) => ({ user_id: u.id, role_id: roleId, workspace_id: ws })));
  if (direct.length > 0) await db.insertInto('user_roles').values(direct).execute();
  for (const m of model.mappings) {
    await db
      .insertInto('role_mappings')
      .values({ id: m.id, workspace_id: ws, role_id: m.roleId, group_id: m.groupId, group_external_id: m.groupExternalId, group_display_name: m.groupDisplayName })
      .execute();
  }
}

/** Recomputes the whole workspace in a transaction, caused by a made-up event; returns that event's id. */
async function recomputeAll(db: Db, ws: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const [causeId] = await appendAuditEvents(trx, auditOf(ws), [{ type: 'workspace.settings_changed', targetType: 'workspace', targetId: ws, data: { changed: [] } }]);
    await recomputeEffectiveAccess(trx, auditOf(ws), 'workspace', causeId!);
    return causeId!;
  });
}

t.test('the SQL recompute agrees with the pure resolver on random data, and records exactly the changes', async (t) => {
  const { db } = await createTestDb(t);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(worldArb, fc.nat(), async (w, mutation) => {
      runs++;
      const ws = await bareWorkspace(db);
      const { model, users, groups } = materialise(w);
      await store(db, ws, model, users, groups);

      const causeId = await recomputeAll(db, ws);
      const snapshot = await snapshotOf(db, ws);
      const expected = new Map(users.map((u) => [u.id, grantedPermissions(model, u)]));
      const expectedRoles = new Map(users.map((u) => [u.id, ownRoleIds(model, u)]));
      for (const u of users) t.same(snapshot.get(u.id), expected.get(u.id), 'user_access = pure resolver');
      const first = await accessEvents(db, ws);
      t.same(
        first.map((e) => e.targetId).sort(),
        users.filter((u) => expected.get(u.id)!.length > 0 || expectedRoles.get(u.id)!.length > 0).map((u) => u.id).sort(),
        'one access.changed per user who holds a permission or a role of their own (before: nothing)',
      );
      t.ok(first.every((e) => e.causeId === causeId && e.data.before.length === 0 && e.data.after.join() === expected.get(e.targetId)!.join()));
      t.ok(first.every((e) => e.data.rolesBefore.length === 0 && e.data.rolesAfter.join() === expectedRoles.get(e.targetId)!.join()), 'the roles they hold, as the pure resolver says');

      // Explain (mappings matched by SQL) agrees with the snapshot.
      const batch = await effectivePermissionsBatch(db, ws, users.map((u) => u.id));
      for (const r of batch.results) t.same(r.granted, snapshot.get(r.user.id), 'explain = user_access');

      // One random change, then a recompute: events for exactly the users whose access changed.
      const seq = await lastSeq(db, ws);
      const mutated = mutate(model, users, mutation);
      await applyMutation(db, ws, mutation, model, users, mutated);
      await recomputeAll(db, ws);
      const after = await snapshotOf(db, ws);
      const expectedAfter = new Map(mutated.users.map((u) => [u.id, grantedPermissions(mutated.model, u)]));
      for (const u of users) t.same(after.get(u.id), expectedAfter.get(u.id), 'after a change: user_access = pure resolver');
      const second = await accessEvents(db, ws, seq);
      const rolesAfter = new Map(mutated.users.map((u) => [u.id, ownRoleIds(mutated.model, u)]));
      const changed = users
        .filter((u) => expected.get(u.id)!.join() !== expectedAfter.get(u.id)!.join() || expectedRoles.get(u.id)!.join() !== rolesAfter.get(u.id)!.join())
        .map((u) => u.id);
      t.same(second.map((e) => e.targetId).sort(), changed.sort(), 'access.changed for exactly the users whose permissions or roles changed');
      for (const e of second) {
        t.same(e.data.before, expected.get(e.targetId));
        t.same(e.data.after, expectedAfter.get(e.targetId));
        t.same(e.data.granted, e.data.after.filter((k) => !e.data.before.includes(k)));
        t.same(e.data.revoked, e.data.before.filter((k) => !e.data.after.includes(k)));
        t.same([e.data.rolesBefore, e.data.rolesAfter], [expectedRoles.get(e.targetId), rolesAfter.get(e.targetId)]);
      }
    }),
    { numRuns: Number(process.env.ACCESS_PROPERTY_RUNS ?? scaled(30, 15)) },
  );
  t.ok(runs > 0);
});

/** One random change to the world (pure side). */
function mutate(model: AccessModel, users: UserFacts[], n: number): { model: AccessModel; users: UserFacts[] } {
  const kind = n % 4;
  const pick = Math.floor(n / 4);
  if (kind === 0) return { model: { ...model, strategy: model.strategy === 'deny-overrides' ? 'most-permissive' : 'deny-overrides' }, users };
  if (kind === 1) {
    const i = pick % users.length;
    return { model, users: users.map((u, j) => (j === i ? { ...u, active: !u.active } : u)) };
  }
  if (kind === 2 && model.roles.length > 0) {
    const r = pick % model.roles.length;
    const key = KEYS[pick % KEYS.length]!;
    const roles = model.roles.map((role, j) => {
      if (j !== r) return role;
      const current = role.permissions[key];
      const next: Record<string, Effect> = { ...role.permissions };
      if (current === 'allow') next[key] = 'deny';
      else if (current === 'deny') delete next[key];
      else next[key] = 'allow';
      return { ...role, permissions: next };
    });
    return { model: { ...model, roles }, users };
  }
  const key = KEYS[pick % KEYS.length]!;
  return { model: { ...model, permissions: model.permissions.map((p) => (p.key === key ? { ...p, baseline: !p.baseline } : p)) }, users };
}

async function applyMutation(db: Db, ws: string, n: number, model: AccessModel, users: UserFacts[], mutated: { model: AccessModel; users: UserFacts[] }): Promise<void> {
  const kind = n % 4;
  if (kind === 0) {
    await db.updateTable('workspace_access_settings').set({ strategy: mutated.model.strategy }).where('workspace_id', '=', ws).execute();
  } else if (kind === 1) {
    const u = mutated.users.find((x, i) => x.active !== users[i]!.active)!;
    await db.updateTable('users').set({ active: u.active }).where('id', '=', u.id).execute();
  } else if (kind === 2 && model.roles.length > 0) {
    for (const role of mutated.model.roles) {
      await db.deleteFrom('role_permissions').where('role_id', '=', role.id).execute();
      const rows = Object.entries(role.permissions).map(([key, e]) => ({ role_id: role.id, workspace_id: ws, permission_key: key, effect: e }));
      if (rows.length > 0) await db.insertInto('role_permissions').values(rows).execute();
    }
  } else {
    for (const p of mutated.model.permissions) await db.updateTable('permissions').set({ baseline: p.baseline }).where('workspace_id', '=', ws).where('key', '=', p.key).execute();
  }
}

// ---------------------------------------------------------------------------------------------
// Events of SCIM and admin writes (the seeded workspace of buildTestApp: recommended roles and mappings)

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

async function scimUser(app: TestApp, userName: string): Promise<string> {
  const res = await app.scim('POST', '/Users', { schemas: [USER], userName, active: true, emails: [{ value: userName, primary: true }] });
  if (res.statusCode !== 201) throw new Error(res.body);
  return JSON.parse(res.body).id as string;
}

async function scimGroup(app: TestApp, displayName: string, members: string[] = []): Promise<string> {
  const res = await app.scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
  if (res.statusCode !== 201) throw new Error(res.body);
  return JSON.parse(res.body).id as string;
}

async function memberEvent(app: TestApp, type: string, groupId: string, userId: string): Promise<string> {
  const row = await app.db.db
    .selectFrom('audit_events')
    .select('id')
    .where('workspace_id', '=', app.workspaceId)
    .where('event_type', '=', type)
    .where('target_id', '=', groupId)
    .where(sql`data->>'userId'`, '=', userId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  return row.id;
}

t.test('SCIM writes record access.changed caused by their own events, and nothing when access is unchanged', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;

  let seq = await lastSeq(db, ws);
  const alice = await scimUser(app, 'alice@example.com');
  const bob = await scimUser(app, 'bob@example.com');
  t.same(await accessEvents(db, ws, seq), [], 'new users get the default role, which grants nothing: no event');
  t.same((await snapshotOf(db, ws)).get(alice), [], 'but they have a snapshot');

  seq = await lastSeq(db, ws);
  const locals = await scimGroup(app, 'codex-local-users');
  const unmapped = await scimGroup(app, 'engineering', [alice]);
  t.same(await accessEvents(db, ws, seq), [], 'groups without access consequences record none');

  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Groups/${locals}`, patch({ op: 'add', path: 'members', value: [{ value: alice }, { value: bob }] }));
  let events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId).sort(), [alice, bob].sort());
  const localRole = (await getRole(db, ws, 'Codex Local')).id;
  for (const e of events) {
    t.equal(e.causeId, await memberEvent(app, 'group.member_added', locals, e.targetId), 'cause: that user\'s member_added event');
    t.same(e.data, { before: [], after: ['codex_local'], granted: ['codex_local'], revoked: [], rolesBefore: [], rolesAfter: [localRole] });
  }

  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Groups/${unmapped}`, patch({ op: 'add', path: 'members', value: [{ value: bob }] }));
  await app.scim('PATCH', `/Users/${bob}`, patch({ op: 'replace', path: 'displayName', value: 'Bob B.' }));
  await app.scim('PATCH', `/Groups/${locals}`, patch({ op: 'add', path: 'members', value: [{ value: bob }] }));
  t.same(await accessEvents(db, ws, seq), [], 'unmapped group, attribute change, no-op add: nothing recorded');

  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Groups/${locals}`, patch({ op: 'remove', path: `members[value eq "${alice}"]` }));
  events = await accessEvents(db, ws, seq);
  t.equal(events.length, 1);
  t.equal(events[0]!.causeId, await memberEvent(app, 'group.member_removed', locals, alice));
  t.same(events[0]!.data, { before: ['codex_local'], after: [], granted: [], revoked: ['codex_local'], rolesBefore: [localRole], rolesAfter: [] });

  // Deactivation (Okta's "remove"), reactivation.
  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Users/${bob}`, patch({ op: 'replace', value: { active: false } }));
  events = await accessEvents(db, ws, seq);
  t.equal(events.length, 1);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'user.deactivated', bob))!.id);
  t.same([events[0]!.data.after, events[0]!.data.rolesAfter], [[], []], 'a deactivated user holds no permission and no role');
  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Users/${bob}`, patch({ op: 'replace', value: { active: true } }));
  events = await accessEvents(db, ws, seq);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'user.reactivated', bob))!.id);
  t.same([events[0]!.data.after, events[0]!.data.rolesAfter], [['codex_local'], [localRole]]);

  // A rename onto a mapped name: every member gains, caused by group.renamed.
  seq = await lastSeq(db, ws);
  await app.scim('PATCH', `/Groups/${unmapped}`, patch({ op: 'replace', path: 'displayName', value: 'codex-cloud-users' }));
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId).sort(), [alice, bob].sort());
  const renamed = (await latestEvent(db, ws, 'group.renamed', unmapped))!.id;
  t.ok(events.every((e) => e.causeId === renamed));
  t.same((await snapshotOf(db, ws)).get(bob), ['code_review', 'codex_cloud', 'codex_local']);

  // A group delete: its former members lose what it gave, each caused by their member_removed.
  seq = await lastSeq(db, ws);
  await app.scim('DELETE', `/Groups/${unmapped}`);
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId).sort(), [alice, bob].sort());
  for (const e of events) t.equal(e.causeId, await memberEvent(app, 'group.member_removed', unmapped, e.targetId));

  // A user delete: access ends (after = []) and the snapshot row goes, caused by user.deleted.
  seq = await lastSeq(db, ws);
  await app.scim('DELETE', `/Users/${bob}`);
  events = await accessEvents(db, ws, seq);
  t.equal(events.length, 1);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'user.deleted', bob))!.id);
  t.same(events[0]!.data, { before: ['codex_local'], after: [], granted: [], revoked: ['codex_local'], rolesBefore: [localRole], rolesAfter: [] });
  t.notOk((await snapshotOf(db, ws)).has(bob));

  // A request that fails leaves neither the change nor its events.
  seq = await lastSeq(db, ws);
  const bad = await app.scim('PATCH', `/Groups/${locals}`, patch({ op: 'add', path: 'members', value: [{ value: alice }, { value: randomUUID() }] }));
  t.equal(bad.statusCode, 400);
  t.equal(await lastSeq(db, ws), seq);
  t.same((await snapshotOf(db, ws)).get(alice), []);
});

t.test('admin writes record access.changed caused by the role, mapping or setting event', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;
  const audit = auditOf(ws);
  const [carol, dave] = [await scimUser(app, 'carol@example.com'), await scimUser(app, 'dave@example.com')];
  const locals = await scimGroup(app, 'codex-local-users', [carol]);
  const localRole = await getRole(db, ws, 'codex local');

  let seq = await lastSeq(db, ws);
  const edit = await updateRole(db, audit, localRole.id, { permissions: { access_tokens: 'allow' } });
  const roleUpdated = (await latestEvent(db, ws, 'role.updated', localRole.id))!;
  let events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [carol], 'only the users who have the role');
  t.equal(events[0]!.causeId, roleUpdated.id);
  t.same(events[0]!.data.granted, ['access_tokens']);
  t.same(edit.accessChanges.map((c) => c.userId), [carol], 'the write reports the users it changed');
  t.match(roleUpdated.data, { changed: ['permissions'], before: { permissions: { codex_local: 'allow' } }, after: { permissions: { access_tokens: 'allow', codex_local: 'allow' } } });

  seq = await lastSeq(db, ws);
  await updateRole(db, audit, localRole.id, { description: 'renamed description only' });
  await updateRole(db, audit, localRole.id, { permissions: { access_tokens: 'allow' } });
  t.same(await accessEvents(db, ws, seq), [], 'a description edit or a no-op permission edit changes no access');

  // The default role (Default: nothing) → allow codex_cloud: only users without another role gain.
  seq = await lastSeq(db, ws);
  const defaultRole = await getRole(db, ws, 'Default');
  await updateRole(db, audit, defaultRole.id, { permissions: { codex_cloud: 'allow' } });
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [dave]);

  seq = await lastSeq(db, ws);
  await setDefaultRole(db, audit, null);
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [dave]);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'workspace.default_role_changed'))!.id);
  t.same(events[0]!.data.after, []);

  // Mapping the group by id to Codex Admin; deleting the mapping.
  seq = await lastSeq(db, ws);
  const adminRole = await getRole(db, ws, 'Codex Admin');
  const mapping = await createMapping(db, audit, { roleId: adminRole.id, groupId: locals });
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [carol]);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'mapping.created', mapping.result.id))!.id);
  t.equal(events[0]!.data.after.length, 8, 'Codex Admin holds the whole catalogue');
  seq = await lastSeq(db, ws);
  await deleteMapping(db, audit, mapping.result.id);
  events = await accessEvents(db, ws, seq);
  t.same(events.map((e) => e.targetId), [carol]);
  t.equal(events[0]!.causeId, (await latestEvent(db, ws, 'mapping.deleted', mapping.result.id))!.id);
  t.same(events[0]!.data.after, ['access_tokens', 'codex_local']);
});

t.test('a large PUT: one access.changed per affected member, in the same transaction', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;
  const n = scaled(3000, 800);
  const ids = await insertUsers(db, ws, Array.from({ length: n }, (_, i) => ({ userName: `bulk-${i}@example.com` })));
  const gid = await scimGroup(app, 'codex-cloud-users');
  const seq = await lastSeq(db, ws);
  const res = await app.scim('PUT', `/Groups/${gid}?excludedAttributes=members`, { schemas: [GROUP], displayName: 'codex-cloud-users', members: ids.map((value) => ({ value })) });
  t.equal(res.statusCode, 200);
  const events = await accessEvents(db, ws, seq);
  t.equal(events.length, n);
  t.ok(events.every((e) => e.data.after.join() === 'code_review,codex_cloud'));
  const causes = await db.selectFrom('audit_events').select(['id']).where('workspace_id', '=', ws).where('event_type', '=', 'group.member_added').where('seq', '>', seq).execute();
  t.same(new Set(events.map((e) => e.causeId)), new Set(causes.map((c) => c.id)), 'each caused by its own member_added');
});

t.test('concurrent membership changes of one user both end up in the snapshot', async (t) => {
  const app = await buildTestApp(t);
  const { db } = app.db;
  const ws = app.workspaceId;
  for (let round = 0; round < 3; round++) {
    const user = await scimUser(app, `race-${round}@example.com`);
    const g1 = await scimGroup(app, round === 0 ? 'codex-local-users' : `codex-local-users-${round}`);
    const g2 = await scimGroup(app, round === 0 ? 'codex-cloud-users' : `codex-cloud-users-${round}`);
    if (round > 0) {
      const audit = auditOf(ws);
      await createMapping(db, audit, { roleId: (await getRole(db, ws, 'Codex Local')).id, groupId: g1 });
      await createMapping(db, audit, { roleId: (await getRole(db, ws, 'Codex Cloud')).id, groupId: g2 });
    }
    const [r1, r2] = await Promise.all([
      app.scim('PATCH', `/Groups/${g1}`, patch({ op: 'add', path: 'members', value: [{ value: user }] })),
      app.scim('PATCH', `/Groups/${g2}`, patch({ op: 'add', path: 'members', value: [{ value: user }] })),
    ]);
    t.equal(r1.statusCode, 200);
    t.equal(r2.statusCode, 200);
    t.same((await snapshotOf(db, ws)).get(user), ['code_review', 'codex_cloud', 'codex_local'], `round ${round}`);
    const events = (await accessEvents(db, ws)).filter((e) => e.targetId === user);
    t.equal(events.length, 2, 'two changes, each with the right before');
    t.same(events[1]!.data.before, events[0]!.data.after);
  }
});
