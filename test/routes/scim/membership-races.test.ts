import t from 'tap';
import { buildTestApp, secondInstance, type TestApp } from '../../helpers/app.js';

// Every membership that ends has exactly one group.member_removed event, whichever of two racing
// requests ends it: a member removal against the user's deletion, and a group's deletion against
// the user's. On PostgreSQL the two requests go to two app instances on one database; PGlite is
// owned by one process, so there the same requests interleave on one instance.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ROUNDS = 20;

async function twoInstances(t: { teardown(fn: () => unknown): void }) {
  const first = await buildTestApp(t);
  return { first, viaSecond: await secondInstance(t, first) };
}

async function createUser(app: TestApp, userName: string): Promise<string> {
  return (JSON.parse((await app.scim('POST', '/Users', { schemas: [USER], userName })).body) as { id: string }).id;
}
async function createGroup(app: TestApp, displayName: string, members: string[]): Promise<string> {
  const res = await app.scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
  return (JSON.parse(res.body) as { id: string }).id;
}
async function removedEvents(app: TestApp, groupId: string, userId: string): Promise<number> {
  const rows = await app.db.db
    .selectFrom('audit_events')
    .select('id')
    .where('event_type', '=', 'group.member_removed')
    .where('target_id', '=', groupId)
    .where((eb) => eb.ref('data', '->>').key('userId'), '=', userId)
    .execute();
  return rows.length;
}

t.test('a member removal racing the deletion of that user', async (t) => {
  const { first, viaSecond } = await twoInstances(t);
  let exactlyOnce = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const user = await createUser(first, `race-a-${round}@example.com`);
    const group = await createGroup(first, `race-a-${round}`, [user]);
    const [removal, deletion] = await Promise.all([
      first.scim('PATCH', `/Groups/${group}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${user}"]` }] }),
      viaSecond('DELETE', `/Users/${user}`),
    ]);
    t.ok([200, 204].includes(removal.statusCode), `round ${round}: the removal succeeds`);
    t.equal(deletion.statusCode, 204, `round ${round}: the deletion succeeds`);
    if ((await removedEvents(first, group, user)) === 1) exactlyOnce++;
  }
  t.equal(exactlyOnce, ROUNDS, 'every ended membership has exactly one member_removed event');
});

t.test('a group deletion racing the deletion of a member', async (t) => {
  const { first, viaSecond } = await twoInstances(t);
  let exactlyOnce = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const user = await createUser(first, `race-b-${round}@example.com`);
    const other = await createUser(first, `race-b-other-${round}@example.com`);
    const group = await createGroup(first, `race-b-${round}`, [user, other]);
    const [groupDeletion, userDeletion] = await Promise.all([first.scim('DELETE', `/Groups/${group}`), viaSecond('DELETE', `/Users/${user}`)]);
    t.equal(groupDeletion.statusCode, 204, `round ${round}: the group deletion succeeds`);
    t.equal(userDeletion.statusCode, 204, `round ${round}: the user deletion succeeds`);
    const counts = [await removedEvents(first, group, user), await removedEvents(first, group, other)];
    if (counts[0] === 1 && counts[1] === 1) exactlyOnce++;
  }
  t.equal(exactlyOnce, ROUNDS, 'each of the two memberships ended with exactly one event');
});
