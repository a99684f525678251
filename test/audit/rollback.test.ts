import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { findAuditLog } from '../../src/services/audit-log.service.js';
import { verifyAudit } from '../../src/services/audit-query.service.js';
import { buildTestApp } from '../helpers/app.js';
import { addMembers, createGroup, createUser, eventCount, PATCH, patchGroup, seal } from './helpers.js';

// A failure anywhere in a write's transaction — in the change, in the audit append, in the
// effective-access recompute, or at commit — leaves neither the change nor any event.

const app = await buildTestApp(t);
const { db } = app.db;

async function state() {
  await seal(db);
  const [members, access, events, head] = await Promise.all([
    db.selectFrom('group_members').select(['group_id', 'user_id']).where('workspace_id', '=', app.workspaceId).orderBy('group_id').orderBy('user_id').execute(),
    db.selectFrom('user_access').select(['user_id', 'granted']).where('workspace_id', '=', app.workspaceId).orderBy('user_id').execute(),
    eventCount(db, app.workspaceId),
    findAuditLog(db, app.workspaceId),
  ]);
  const groups = await db.selectFrom('groups').select(['id', 'display_name', 'version']).where('workspace_id', '=', app.workspaceId).orderBy('id').execute();
  return { members, access, events, head, groups };
}

/** Installs a trigger for the duration of fn; the trigger raises when `condition` holds for NEW. */
async function withFailingTrigger(
  t: Test,
  table: 'group_members' | 'audit_events' | 'user_access' | 'groups',
  condition: string,
  fn: () => Promise<void>,
  options: { deferred?: boolean } = {},
): Promise<void> {
  await sql
    .raw(
      `create or replace function test_injected_failure() returns trigger language plpgsql as $$
       begin
         if ${condition} then raise exception 'injected failure on ${table}'; end if;
         return new;
       end $$`,
    )
    .execute(db);
  const kind = options.deferred ? 'constraint trigger' : 'trigger';
  const timing = options.deferred ? 'after insert or update' : 'before insert or update';
  const deferral = options.deferred ? 'deferrable initially deferred' : '';
  await sql.raw(`create ${kind} test_injected_failure ${timing} on ${table} ${deferral} for each row execute function test_injected_failure()`).execute(db);
  try {
    await fn();
  } finally {
    await sql.raw(`drop trigger test_injected_failure on ${table}`).execute(db);
    await sql`drop function test_injected_failure()`.execute(db);
  }
  t.pass(`trigger on ${table} removed`);
}

const alice = await createUser(app, 'alice@example.com');
const bob = await createUser(app, 'bob@example.com');
const carol = await createUser(app, 'carol@example.com');
const local = await createGroup(app, 'codex-local-users', [alice]);
await createGroup(app, 'engineering');

async function expectNothingChanged(t: Test, attempt: () => Promise<{ statusCode: number; body: string }>, status: number | RegExp) {
  const before = await state();
  const res = await attempt();
  if (typeof status === 'number') t.equal(res.statusCode, status, res.body);
  else t.match(String(res.statusCode), status, res.body);
  t.same(await state(), before, 'no change, no event, the chain head where it was');
  t.equal((await verifyAudit(db, app.workspaceId)).ok, true);
}

t.test('a unique violation on the second operation of a PATCH', async (t) => {
  // Op 1 adds a member, op 2 renames the group onto another group's name: 409 uniqueness for the whole PATCH.
  await expectNothingChanged(
    t,
    () => patchGroup(app, local, [addMembers([bob]), { op: 'replace', path: 'displayName', value: 'engineering' }]),
    409,
  );
});

t.test('a trigger raising on the second member of a PATCH', async (t) => {
  await withFailingTrigger(t, 'group_members', `new.user_id = '${carol}'`, () =>
    expectNothingChanged(t, () => patchGroup(app, local, [addMembers([bob]), addMembers([carol])]), 500),
  );
});

t.test('a failure in the audit append, after the change was written', async (t) => {
  await withFailingTrigger(t, 'audit_events', `new.event_type = 'group.member_added' and new.data->>'userId' = '${carol}'`, () =>
    expectNothingChanged(t, () => patchGroup(app, local, [addMembers([bob, carol])]), 500),
  );
});

t.test('a failure in the effective-access recompute, after the member events were appended', async (t) => {
  await withFailingTrigger(t, 'user_access', `new.user_id = '${bob}'`, () => expectNothingChanged(t, () => patchGroup(app, local, [addMembers([bob])]), 500));
  // Also for a user write: deactivation recomputes the user's access.
  await withFailingTrigger(t, 'user_access', `new.user_id = '${alice}'`, () =>
    expectNothingChanged(
      t,
      () => app.scim('PATCH', `/Users/${alice}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }),
      500,
    ),
  );
});

t.test('a failure at commit (a deferred constraint trigger)', async (t) => {
  await withFailingTrigger(t, 'group_members', `new.user_id = '${bob}'`, () => expectNothingChanged(t, () => patchGroup(app, local, [addMembers([bob])]), 500), {
    deferred: true,
  });
});

t.test('after all that, the same PATCH succeeds and is recorded once', async (t) => {
  const before = await eventCount(db, app.workspaceId);
  const res = await patchGroup(app, local, [addMembers([bob, carol])]);
  t.match(String(res.statusCode), /^20[04]$/);
  const events = await db
    .selectFrom('audit_events')
    .select(['event_type', 'data'])
    .where('workspace_id', '=', app.workspaceId)
    .where('seq', '>', before)
    .where('event_type', '=', 'group.member_added')
    .execute();
  t.same(events.map((e) => (e.data as { userId: string }).userId).sort(), [bob, carol].sort());
  t.equal((await verifyAudit(db, app.workspaceId)).ok, true);
});
