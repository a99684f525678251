import t from 'tap';
import { buildTestApp, TEST_ACTOR } from '../helpers/app.js';
import { putExtension } from '../../src/services/scim-schemas.service.js';
import { loadSteps, replay } from './replay.js';

// @dialect-independent: the request forms IdPs send; what they store is covered on both databases by the SCIM and property tests.

// Forms real clients send that the first version refused (Entra's group push, bare extension
// names, Content-Type on bodiless requests, Okta's unchanged full-profile PUT), replayed on the
// real app. Each fixture is a whole client sequence, not one request.

const CUSTOM = 'urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User';

t.test('entra group push: vendor URN, add, rename, both remove forms, delete with a Content-Type', async (t) => {
  const app = await buildTestApp(t);
  const vars = await replay(t, app, loadSteps('./entra/group-push.json'));
  t.equal(vars.m1, 'undefined', 'one member left, not an emptied group');
  const events = await app.db.db.selectFrom('audit_events').select(['event_type']).where('target_id', '=', vars.g!).where('event_type', '=', 'group.member_removed').execute();
  t.equal(events.length, 3, 'two removals by PATCH and the last member with the group: one event each');
});

t.test('entra user with a declared custom extension, bare manager and custom names', async (t) => {
  const app = await buildTestApp(t);
  await putExtension(app.db.db, { workspaceId: app.workspaceId, actor: TEST_ACTOR }, {
    urn: CUSTOM,
    name: 'CustomExt',
    resourceTypes: ['User'],
    attributes: [
      { name: 'costCenterCode', type: 'string' },
      { name: 'clearance', type: 'integer' },
      { name: 'badges', type: 'string', multiValued: true },
    ],
  });
  const vars = await replay(t, app, loadSteps('./entra/custom-extension.json'));
  const user = JSON.parse((await app.scim('GET', `/Users/${vars.ada}`)).body) as { schemas: string[] };
  t.same(user.schemas.slice().sort(), [CUSTOM, 'urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'].sort(), 'schemas names each extension with values');
});

t.test('okta full-profile PUT on every sync leaves version and ETag alone', async (t) => {
  const app = await buildTestApp(t);
  const vars = await replay(t, app, loadSteps('./okta/full-profile-put.json'));
  const updates = await app.db.db.selectFrom('audit_events').select(['event_type']).where('target_id', '=', vars.id!).where('event_type', '=', 'user.updated').execute();
  t.equal(updates.length, 1, 'one user.updated, for the one real change');
});
