import t from 'tap';
import { ensureWorkspace } from '../../../src/repositories/workspaces.repository.js';
import { putExtension } from '../../../src/services/scim-schemas.service.js';
import { createScimToken } from '../../../src/services/tokens.service.js';
import { buildTestApp, TEST_ACTOR } from '../../helpers/app.js';

// @dialect-independent: how requests are framed and parsed, before any statement runs.

// The envelope of SCIM requests as clients really send them: Content-Type on bodiless requests,
// other media types, bodies on read-only endpoints, undecodable URLs, and attribute names that
// leave their schema out.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const json = (body: string) => JSON.parse(body) as Record<string, any>;

t.test('request envelopes', async (t) => {
  const app = await buildTestApp(t);
  const raw = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: string) =>
    app.app.inject({ method, url: `/scim/v2${url}`, headers: { authorization: `Bearer ${app.scimToken}`, ...headers }, payload });
  const id = json((await app.scim('POST', '/Users', { schemas: [USER], userName: 'ct@example.com' })).body).id as string;

  t.test('a Content-Type with no body is no body', async (t) => {
    t.equal((await raw('GET', `/Users/${id}`, { 'content-type': 'application/scim+json' })).statusCode, 200, 'GET');
    t.equal((await raw('GET', '/Users', { 'content-type': 'application/json', 'content-length': '0' }, '')).statusCode, 200, 'GET with Content-Length: 0');
    t.equal((await raw('DELETE', `/Users/${id}`, { 'content-type': 'application/scim+json' })).statusCode, 204, 'DELETE');
    const post = await raw('POST', '/Users', { 'content-type': 'application/scim+json' }, '');
    t.match(json(post.body), { schemas: [ERROR], status: '400', scimType: 'invalidSyntax', detail: 'The request body must be a JSON object' }, 'a POST still needs its body');
  });

  t.test('other media types are 415, bodies on discovery endpoints 405', async (t) => {
    const text = await raw('POST', '/Users', { 'content-type': 'text/plain' }, 'userName=x');
    t.equal(text.statusCode, 415);
    t.match(json(text.body), { schemas: [ERROR], status: '415' });
    t.equal((await raw('POST', '/Users', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b')).statusCode, 415);
    for (const [method, url, type, body] of [
      ['POST', '/Schemas', 'application/scim+json', '{"schemas": ['],
      ['PUT', '/ServiceProviderConfig', 'text/plain', 'hello'],
      ['PATCH', '/ResourceTypes/User', 'application/scim+json', '{}'],
      ['DELETE', '/Schemas', 'application/scim+json', ''],
    ] as const) {
      const res = await raw(method, url, { 'content-type': type }, body);
      t.equal(res.statusCode, 405, `${method} ${url} with ${type}`);
      t.equal(res.headers.allow, 'GET');
      t.match(json(res.body), { schemas: [ERROR], status: '405' });
    }
  });

  t.test('an undecodable URL is a SCIM error', async (t) => {
    const res = await raw('GET', '/Users/%E0%A4%A', {});
    t.equal(res.statusCode, 400);
    t.match(json(res.body), { schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
    t.match(res.headers['content-type'], /application\/scim\+json/);
  });

  t.test('a malformed body and a body that is not an object', async (t) => {
    t.match(json((await raw('POST', '/Users', { 'content-type': 'application/scim+json' }, '{"schemas": [')).body), { scimType: 'invalidSyntax', detail: /not valid JSON/ });
    t.match(json((await raw('POST', '/Users', { 'content-type': 'application/scim+json' }, '"x"')).body), { scimType: 'invalidSyntax', detail: 'The request body must be a JSON object' });
    const poisoned = await raw('POST', '/Users', { 'content-type': 'application/scim+json' }, `{"schemas":["${USER}"],"userName":"p@example.com","__proto__":{"admin":true}}`);
    t.equal(poisoned.statusCode, 400, 'prototype poisoning is refused');
  });
});

t.test('unqualified extension attribute names', async (t) => {
  const app = await buildTestApp(t);
  const audit = { workspaceId: app.workspaceId, actor: TEST_ACTOR };
  const urnA = 'urn:ietf:params:scim:schemas:extension:Hr:2.0:User';
  const urnB = 'urn:ietf:params:scim:schemas:extension:Payroll:2.0:User';
  for (const urn of [urnA, urnB]) {
    await putExtension(app.db.db, audit, { urn, name: urn.split(':')[6]!, resourceTypes: ['User'], attributes: [{ name: 'grade', type: 'string' }, { name: urn === urnA ? 'site' : 'bank', type: 'string' }] });
  }
  const user = json((await app.scim('POST', '/Users', { schemas: [USER, urnA], userName: 'amb@example.com', [urnA]: { site: 'LDN' } })).body);
  const patch = (Operations: unknown[]) => app.scim('PATCH', `/Users/${user.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

  const ambiguous = await patch([{ op: 'replace', path: 'displayName', value: 'Amb' }, { op: 'replace', path: 'grade', value: 'G7' }]);
  t.match(json(ambiguous.body), { status: '400', scimType: 'invalidPath', detail: new RegExp(`grade.*${urnA}.*${urnB}`) }, 'two schemas define it: both named');
  t.notOk(json((await app.scim('GET', `/Users/${user.id}`)).body).displayName, 'and the request changed nothing');
  t.match(json((await patch([{ op: 'replace', path: `${urnB}:grade`, value: 'G7' }])).body), { [urnB]: { grade: 'G7' } }, 'qualified, it is fine');
  t.match(json((await patch([{ op: 'add', path: 'site', value: 'NYC' }])).body), { [urnA]: { site: 'NYC' } }, 'one schema defines site');
  t.match(json((await app.scim('GET', `/Users?filter=${encodeURIComponent('grade eq "G7"')}`)).body), { status: '400', scimType: 'invalidPath' }, 'ambiguous in a filter too');
  t.equal(json((await app.scim('GET', `/Users?filter=${encodeURIComponent('site eq "NYC"')}`)).body).totalResults, 1);
  t.equal((await app.scim('GET', `/Users?sortBy=bank`)).statusCode, 200, 'sortBy by bare name');
  const { workspace } = await ensureWorkspace(app.db.db, 'another');
  const { token } = await createScimToken(app.db.db, { workspaceId: workspace.id }, TEST_ACTOR);
  const other = await app.app.inject({ method: 'GET', url: '/scim/v2/ResourceTypes/User', headers: { authorization: `Bearer ${token}` } });
  t.same(json(other.body).schemaExtensions.map((e: { schema: string }) => e.schema), ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], 'declarations are per workspace');
});

t.test('outside the SCIM and admin scopes, errors are RFC 9457 problems', async (t) => {
  const { app } = await buildTestApp(t);
  for (const url of ['/nope', '/scimv2/Users', '/%E0%A4%A']) {
    const res = await app.inject({ method: 'GET', url });
    t.match(res.headers['content-type'], /application\/problem\+json/, url);
    t.match(json(res.body), { type: 'about:blank', status: Number, title: String, detail: String }, url);
    t.notOk('statusCode' in json(res.body), `${url}: not Fastify's own error body`);
  }
});

t.test('a PUT naming another id is refused in words that name the resource type', async (t) => {
  const app = await buildTestApp(t);
  const id = json((await app.scim('POST', '/Users', { schemas: [USER], userName: 'put-id@example.com' })).body).id as string;
  const res = await app.scim('PUT', `/Users/${id}`, { schemas: [USER], id: 'someone-else', userName: 'put-id@example.com' });
  t.match(json(res.body), { status: '400', scimType: 'mutability', detail: /does not match the User being replaced/ });
});
