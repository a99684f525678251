import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { loadSteps, replay } from './replay.js';

// @dialect-independent: the request forms IdPs send; what they store is covered on both databases by the SCIM and property tests.

for (const idp of ['okta', 'entra']) {
  t.test(`${idp} Users traffic`, async (t) => {
    const app = await buildTestApp(t);
    await replay(t, app, loadSteps(`./${idp}/users.json`));
  });
}
