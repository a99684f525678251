import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';

// @dialect-independent: discovery documents are built from code and one schema lookup.

t.test('discovery endpoints', async (t) => {
  const { scim } = await buildTestApp(t);
  const json = (body: string) => JSON.parse(body) as Record<string, any>;

  const spc = json((await scim('GET', '/ServiceProviderConfig')).body);
  t.match(spc, {
    patch: { supported: true },
    bulk: { supported: false },
    filter: { supported: true, maxResults: Number },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken' }],
  });

  const types = json((await scim('GET', '/ResourceTypes')).body);
  t.equal(types.totalResults, 2);
  t.same(types.Resources.map((r: any) => r.endpoint).sort(), ['/Groups', '/Users']);
  t.match(json((await scim('GET', '/ResourceTypes/User')).body), { schemaExtensions: [{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' }] });
  t.equal((await scim('GET', '/ResourceTypes/Printer')).statusCode, 404);

  const schemas = json((await scim('GET', '/Schemas')).body);
  t.equal(schemas.totalResults, 3);
  const userSchema = json((await scim('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')).body);
  t.match(userSchema.attributes.find((a: any) => a.name === 'password'), { mutability: 'writeOnly', returned: 'never' });
  t.equal((await scim('GET', '/Schemas/urn:example:nope')).statusCode, 404);

  for (const [method, url] of [['POST', '/Schemas'], ['PUT', '/ServiceProviderConfig'], ['DELETE', '/ResourceTypes/User']] as const) {
    const res = await scim(method, url, method === 'DELETE' ? undefined : {});
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.equal(json(res.body).status, '405');
  }
  const unknown = await scim('GET', '/Printers');
  t.equal(unknown.statusCode, 404);
  t.equal(json(unknown.body).schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
});
