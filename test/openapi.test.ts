// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { exportOpenApi, OPENAPI_FILE } from '../scripts/export-openapi.js';
import { buildTestApp } from './helpers/app.js';

// The committed OpenAPI document is generated from the route schemas; it must not go stale.

t.test('openapi/openapi.json is current', async (t) => {
  const fresh = await exportOpenApi();
  let committed = '';
  try {
    committed = readFileSync(OPENAPI_FILE, 'utf8');
  } catch {
    // reported below
  }
  if (committed !== fresh) {
    // Name what moved, so the failure says more than "differs".
    const pathsOf = (text: string): string[] => {
      try {
        return Object.keys((JSON.parse(text) as { paths: object }).paths);
      } catch {
        return [];
      }
    };
    const before = new Set(pathsOf(committed));
    const after = new Set(pathsOf(fresh));
    const added = [...after].filter((p) => !before.has(p));
    const removed = [...before].filter((p) => !after.has(p));
    const detail = added.length + removed.length > 0 ? ` (new paths: ${added.join(', ') || 'none'}; gone: ${removed.join(', ') || 'none'})` : ' (schemas changed)';
    t.fail(`openapi/openapi.json differs from the route schemas${detail}: run \`npm run openapi\` and commit the result`);
  } else {
    t.pass('openapi/openapi.json matches the route schemas');
  }

  const doc = JSON.parse(fresh);
  const paths = Object.keys(doc.paths);
  for (const path of ['/scim/v2/Users', '/scim/v2/Groups/{id}', '/api/v1/users/{user}/effective-permissions', '/api/v1/permissions/{key}/holders', '/api/v1/effective-permissions:batch', '/api/v1/roles', '/api/v1/mappings', '/api/v1/settings', '/api/v1/me/requirements.toml', '/api/v1/me/access']) {
    t.ok(paths.includes(path), `documents ${path}`);
  }
  t.match(doc.components.securitySchemes, { scimBearer: { type: 'http', scheme: 'bearer' }, adminBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
  const expected = (path: string) => (path.startsWith('/api/v1/me/') ? '[{"userBearer":[]}]' : '[{"adminBearer":[]}]');
  const adminPaths = paths.filter((p) => p.startsWith('/api/v1/'));
  t.ok(adminPaths.length > 20, 'the admin API is documented');
  t.same(
    adminPaths.filter((p) => (Object.values(doc.paths[p]) as Array<{ security?: unknown }>).some((op) => JSON.stringify(op.security) !== expected(p))),
    [],
    "every admin operation requires adminBearer, and /me the user's own IdP token (userBearer)",
  );
  t.same(doc.security, [{ scimBearer: [] }], 'SCIM operations inherit scimBearer');
});

t.test('the running service serves /openapi.json and /docs', async (t) => {
  const { app } = await buildTestApp(t);
  const json = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(json.statusCode, 200);
  t.ok(JSON.parse(json.body).paths['/api/v1/roles'], 'the same document');
  const docs = await app.inject({ method: 'GET', url: '/docs' });
  const page = docs.statusCode === 302 ? await app.inject({ method: 'GET', url: docs.headers.location as string }) : docs;
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, /swagger-ui/i);
});
