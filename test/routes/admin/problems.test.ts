import t from 'tap';
import { buildAdminTestApp, json } from './helpers.js';

// @dialect-independent: the error model is HTTP framing; the database only stores the fixtures.

// Admin API errors are RFC 9457 problems: type, title, status, detail, and errors[] naming each
// problem by JSON pointer (the first version's statusCode/error/message/field stay beside them).

t.test('problem details', async (t) => {
  const { api } = await buildAdminTestApp(t);

  const shape = await api('POST', '/roles', { body: { name: 'X', permissions: { codex_local: 'maybe' } } });
  t.equal(shape.statusCode, 400);
  t.match(shape.headers['content-type'], /^application\/problem\+json/);
  t.match(json(shape), { type: 'about:blank', title: 'Bad Request', status: 400, detail: /permissions\.codex_local/, errors: [{ pointer: '/permissions/codex_local' }], field: 'permissions.codex_local' });

  const toml = 'allowed_sandbox_modes = "read-only"\nallowed_approval_policies = ["sometimes"]\n[features]\nweb_search_request = "yes"\n';
  const policy = await api('POST', '/policies', { body: { name: 'broken', toml } });
  t.equal(policy.statusCode, 400);
  const problems = json(policy).errors as Array<{ pointer: string; line?: number; key?: string; detail: string }>;
  t.ok(problems.length >= 3, `every TOML problem is listed (${problems.length})`);
  t.ok(problems.every((p) => p.pointer === '/toml' && typeof p.line === 'number' && typeof p.key === 'string'), 'each with its line and key');
  t.same(problems.map((p) => p.line), [1, 2, 4]);

  const missing = await api('GET', '/roles/no-such-role');
  t.match(json(missing), { type: 'about:blank', title: 'Not Found', status: 404, detail: String });
  t.notOk('errors' in json(missing), 'no errors[] when nothing in the request is at fault');

  const route = await api('GET', '/no-such-endpoint');
  t.match(json(route), { status: 404, title: 'Not Found' });
  t.match(route.headers['content-type'], /^application\/problem\+json/);

  const unauthenticated = await api('GET', '/roles', { as: null });
  t.match(json(unauthenticated), { status: 401, title: 'Unauthorized' });
});
