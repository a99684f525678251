import t from 'tap';
import { buildAdminTestApp } from '../routes/admin/helpers.js';

// @dialect-independent: HTTP framing over a real socket, not the database.
// An error thrown after the request body was read (a 409 for a user the IdP pushes twice) is
// answered over a real connection. It once was not: the request stream is destroyed as soon as
// its body is read, and the error handlers took that for a client that had gone away, so the IdP
// waited for an answer that never came. (app.inject has no socket, so only a listening server shows it.)

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

t.test('errors after the body was read are answered', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const send = (path: string, token: string, contentType: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });

  const user = { schemas: [USER], userName: 'twice@example.com' };
  t.equal((await send('/scim/v2/Users', ctx.scimToken, 'application/scim+json', user)).status, 201);
  const again = await send('/scim/v2/Users', ctx.scimToken, 'application/scim+json', user);
  t.equal(again.status, 409, 'SCIM: the duplicate is refused, not left hanging');
  t.match(await again.json(), { scimType: 'uniqueness' });
  const invalid = await send('/scim/v2/Users', ctx.scimToken, 'application/scim+json', { schemas: [USER] });
  t.equal(invalid.status, 400, 'SCIM: a body the use-case refuses');

  const permission = { key: 'codex_twice' };
  t.equal((await send('/api/v1/permissions', ctx.tokens.owner, 'application/json', permission)).status, 201);
  t.equal((await send('/api/v1/permissions', ctx.tokens.owner, 'application/json', permission)).status, 409, 'admin API: the duplicate is refused, not left hanging');
});
