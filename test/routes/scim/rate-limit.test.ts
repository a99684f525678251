import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';

// @dialect-independent: the limiter keeps its counts in memory, not in the database.

t.test('a token over its per-minute budget gets 429 with Retry-After and a SCIM error', async (t) => {
  const { scim } = await buildTestApp(t, { scimRateLimitPerMinute: 3 });
  for (let i = 0; i < 3; i++) t.equal((await scim('GET', '/Users?count=0')).statusCode, 200);
  const limited = await scim('GET', '/Users?count=0');
  t.equal(limited.statusCode, 429);
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After in seconds');
  t.match(JSON.parse(limited.body), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
  t.match(limited.headers['content-type'], 'application/scim+json');
});
