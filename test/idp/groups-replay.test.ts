import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { loadSteps, replay } from './replay.js';

// @dialect-independent: the request forms IdPs send; what they store is covered on both databases by the SCIM and property tests.

t.test('okta Group Push traffic', async (t) => {
  const app = await buildTestApp(t);
  const vars = await replay(t, app, loadSteps('./okta/groups.json'));
  t.same([vars.m0, vars.m1].sort(), [vars.u2, vars.u3].sort(), 'exactly u2 and u3 were members before the delete');
  t.equal(vars.m2, 'undefined', 'and nobody else');
});

t.test('entra group traffic', async (t) => {
  const app = await buildTestApp(t);
  await replay(t, app, loadSteps('./entra/groups.json'));
});
