// @dialect-independent: the document's contract, checked on recorded IdP traffic.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import t, { type Test } from 'tap';
import { exportOpenApi } from '../../scripts/export-openapi.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { loadSteps, replay } from './replay.js';

// The SCIM half of the OpenAPI document describes real bodies: every response the recorded Okta
// and Entra traffic gets is one the document lists for its operation and status, with a body
// its schema accepts, under application/scim+json.

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}

const doc = JSON.parse(await exportOpenApi()) as { paths: Record<string, Record<string, Operation>>; components: object };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components });

/** The document's path of a request: /Users/<id>?x=y → /scim/v2/Users/{id}. */
function templateOf(url: string): string {
  const path = url.split('?')[0]!.replace(/\/$/, '');
  return `/scim/v2${path.replace(/^\/(Users|Groups)\/(?!\.search$)[^/]+$/, '/$1/{id}')}`;
}

function documented(t: Test, app: TestApp): TestApp {
  return {
    ...app,
    scim: async (method, url, body, headers) => {
      const response = await app.scim(method, url, body, headers);
      const path = templateOf(url);
      const operation = doc.paths[path]?.[String(method).toLowerCase()];
      const answer = operation?.responses[String(response.statusCode)];
      t.ok(answer, `${method} ${path} documents ${response.statusCode}`);
      if (answer && response.body !== '') {
        const schema = answer.content?.['application/scim+json']?.schema;
        t.ok(schema?.$ref, `${method} ${path} ${response.statusCode} names its body's schema`);
        if (schema?.$ref) {
          const validate = ajv.getSchema(`openapi${schema.$ref}`)!;
          t.ok(validate(JSON.parse(response.body)), `${method} ${path} ${response.statusCode}: the body matches ${schema.$ref.split('/').pop()} ${ajv.errorsText(validate.errors)}`);
        }
      }
      return response;
    },
  };
}

for (const idp of ['okta', 'entra']) {
  for (const traffic of ['users', 'groups']) {
    t.test(`${idp} ${traffic} traffic gets documented answers`, async (t) => {
      const app = await buildTestApp(t);
      await replay(t, documented(t, app), loadSteps(`./${idp}/${traffic}.json`));
    });
  }
}
