// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { canonicalJson, chainHash, eventHasher, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { newAuditEventId } from '../../src/audit/ids.js';
import { canonicalAuditData, isSecretKey, REDACTED, sanitizeAuditData } from '../../src/audit/redact.js';

// Pure checks of the pieces the chain depends on; the database round trip is in audit.test.ts.

// 'binary' strings include NUL and lone surrogates, which PostgreSQL cannot store as such.
const jsonObject = fc.dictionary(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('10', '2', '__proto__', 'password')), fc.jsonValue({ stringUnit: 'binary' }), {
  maxKeys: 8,
});

t.test('the fast canonical writer equals canonicalJson of the sanitised value', async (t) => {
  fc.assert(
    fc.property(jsonObject, (data) => {
      const fast = canonicalAuditData(data);
      const slow = canonicalJson(sanitizeAuditData(data));
      return fast === slow;
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

t.test('canonical data is a fixed point of a JSON round trip (what jsonb hands back)', async (t) => {
  fc.assert(
    fc.property(jsonObject, (data) => {
      const text = canonicalAuditData(data);
      return canonicalJson(JSON.parse(text)) === text;
    }),
    { numRuns: 2_000 },
  );
  t.equal(canonicalAuditData({ '10': 1, '9': 2, b: 1, a: { d: 1, c: 2 } }), '{"10":1,"9":2,"a":{"c":2,"d":1},"b":1}');
});

t.test('the per-call hasher equals sha256(prev + canonicalJson(document))', async (t) => {
  fc.assert(
    fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: null }), fc.string({ minLength: 1 }), jsonObject, (actorId, display, requestId, targetId, data) => {
      const shared = { workspaceId: newAuditEventId(), occurredAt: new Date(1_700_000_000_123), actor: { type: 'admin' as const, id: actorId, display }, requestId };
      const event = { id: newAuditEventId(), seq: 42, type: 'role.updated', targetType: 'role', targetId, causeId: null };
      const canonicalData = canonicalAuditData(data);
      const doc = {
        v: 1,
        ...event,
        workspaceId: shared.workspaceId,
        occurredAt: '2023-11-14T22:13:20.123Z',
        actor: { type: 'admin', id: actorId, display: display ?? null },
        requestId,
        data: JSON.parse(canonicalData) as unknown,
      };
      const expected = createHash('sha256').update(GENESIS_HASH + canonicalJson(doc)).digest('hex');
      return eventHasher(shared)(GENESIS_HASH, event, canonicalData) === expected && chainHash(GENESIS_HASH, { ...shared, ...event }, canonicalData) === expected;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

t.test('secret-looking keys', async (t) => {
  for (const k of ['password', 'newPassword', 'client_secret', 'accessToken', 'token_hash', 'Authorization', 'apiKey', 'x-api-key', 'urn:ietf:params:scim:schemas:core:2.0:User:password', 'private_key', 'credentials']) {
    t.ok(isSecretKey(k), k);
  }
  for (const k of ['tokenId', 'userId', 'userName', 'displayName', 'scope', 'tokenCount', 'description', 'passwordChanged']) {
    t.notOk(isSecretKey(k), k);
  }
  t.same(sanitizeAuditData({ password: null, token: false, secret: 0 }), { password: null, token: false, secret: REDACTED }, 'null and booleans say nothing secret');
  t.same(sanitizeAuditData({ attribute: 'password', value: 'p' }), { attribute: 'password', value: REDACTED });
  t.same(sanitizeAuditData({ name: 'access_tokens', value: 'allow' }), { name: 'access_tokens', value: 'allow' }, 'a permission, not a secret');
  t.same(
    sanitizeAuditData({ changed: ['permissions'], before: { permissions: { access_tokens: 'deny' } }, after: { permissions: { access_tokens: 'allow' } } }),
    { changed: ['permissions'], before: { permissions: { access_tokens: 'deny' } }, after: { permissions: { access_tokens: 'allow' } } },
    'role permission maps keep their keys',
  );
  t.throws(() => {
    const a: Record<string, unknown> = {};
    a.self = a;
    sanitizeAuditData(a);
  }, /nested too deeply/);
});

t.test('event ids are time-ordered UUIDv7', async (t) => {
  const a = newAuditEventId();
  t.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const ids = Array.from({ length: 10_000 }, () => newAuditEventId());
  t.equal(new Set(ids).size, ids.length);
  t.ok(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16) <= Date.now());
});
