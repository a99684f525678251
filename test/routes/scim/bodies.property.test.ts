import fc from 'fast-check';
import { sql } from 'kysely';
import t from 'tap';
import { buildTestApp } from '../../helpers/app.js';
import { scaled } from '../../helpers/db.js';

// Property: whatever body a client sends to POST, PUT or PATCH of Users and Groups — valid, nearly
// valid, or garbage with NUL characters, lone surrogates, huge strings, wrong types and unknown
// names — the answer is never a 5xx, and a refused request changes no row and writes no event.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const app = await buildTestApp(t);
const { db } = app.db;
const firstUser = JSON.parse((await app.scim('POST', '/Users', { schemas: [USER], userName: 'anchor@example.com' })).body) as { id: string };
const firstGroup = JSON.parse((await app.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'anchor', members: [{ value: firstUser.id }] })).body) as { id: string };

/** Everything a write could change, in one row: counts, version sums and the audit length. */
async function state(): Promise<string> {
  const { rows } = await sql<{ s: string }>`
    select concat_ws('/',
      (select count(*) || ':' || coalesce(sum(version), 0) || ':' || coalesce(md5(string_agg(resource::text, ',' order by id)), '') from users),
      (select count(*) || ':' || coalesce(sum(version), 0) || ':' || coalesce(md5(string_agg(resource::text, ',' order by id)), '') from groups),
      (select count(*) from group_members),
      (select count(*) from audit_events)) as s`.execute(db);
  return rows[0]!.s;
}

const nasty = fc.oneof(
  fc.constantFrom('a\u0000b', '\udfff', 'x\ud800', '', ' ', 'x'.repeat(9000), 'ünïcødé 🚀', 'True', 'false', '2008-01-23T04:56:22Z', 'not-a-date'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
);
const scalar = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(nasty, tie('v'), { maxKeys: 3 })),
})).v;
const attributeName = fc.constantFrom(
  'userName', 'displayName', 'name', 'emails', 'active', 'externalId', 'title', 'members', 'groups', 'id', 'meta', 'password',
  'phoneNumbers', 'x509Certificates', 'schemas', ENT, `${ENT}:manager`, 'manager', 'nickname2', 'urn:example:Vendor:2.0:User', 'urn:example:Vendor:2.0:User:badge',
);
const userBody = fc.record(
  {
    schemas: fc.oneof(fc.constant([USER]), fc.constant([USER, ENT]), fc.constant([GROUP]), value),
    userName: fc.oneof(fc.uuid().map((u) => `${u}@example.com`), nasty, value),
    extra: fc.dictionary(attributeName, value, { maxKeys: 4 }),
  },
  { requiredKeys: ['userName'] },
).map(({ extra, ...rest }) => ({ ...extra, ...rest }));
const groupBody = fc
  .record({
    schemas: fc.oneof(fc.constant([GROUP]), fc.constant([GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group']), value),
    displayName: fc.oneof(fc.uuid(), nasty, value),
    members: fc.oneof(fc.constant([{ value: firstUser.id }]), fc.array(fc.record({ value: fc.oneof(fc.uuid(), nasty) }), { maxLength: 3 }), value),
    extra: fc.dictionary(attributeName, value, { maxKeys: 3 }),
  })
  .map(({ extra, ...rest }) => ({ ...extra, ...rest }));
const path = fc.oneof(
  attributeName,
  fc.constantFrom('emails[type eq "work"].value', 'members[value eq "x"]', 'name.givenName', 'emails[', 'members[value eq ]', 'a..b', `${ENT}:manager.value`),
  nasty,
);
const patchBody = fc.record({
  schemas: fc.oneof(fc.constant([PATCH]), value),
  Operations: fc.oneof(
    fc.array(fc.record({ op: fc.constantFrom('add', 'Add', 'replace', 'Replace', 'remove', 'Remove', 'copy', ''), path, value }, { requiredKeys: ['op'] }), { maxLength: 4 }),
    value,
  ),
});

type Request = { method: 'POST' | 'PUT' | 'PATCH'; url: string; body: unknown };
const request: fc.Arbitrary<Request> = fc.oneof(
  userBody.map((body) => ({ method: 'POST' as const, url: '/Users', body })),
  userBody.map((body) => ({ method: 'PUT' as const, url: `/Users/${firstUser.id}`, body })),
  patchBody.map((body) => ({ method: 'PATCH' as const, url: `/Users/${firstUser.id}`, body })),
  groupBody.map((body) => ({ method: 'POST' as const, url: '/Groups', body })),
  groupBody.map((body) => ({ method: 'PUT' as const, url: `/Groups/${firstGroup.id}`, body })),
  patchBody.map((body) => ({ method: 'PATCH' as const, url: `/Groups/${firstGroup.id}`, body })),
);

t.test('random bodies: never 5xx, and a refusal writes nothing', async (t) => {
  let refused = 0;
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(request, async ({ method, url, body }) => {
      const before = await state();
      const res = await app.scim(method, url, body);
      if (res.statusCode >= 500) return false;
      if (res.statusCode >= 400) {
        refused++;
        const error = JSON.parse(res.body) as { schemas: string[]; status: string };
        return error.status === String(res.statusCode) && (await state()) === before;
      }
      accepted++;
      return true;
    }),
    { numRuns: scaled(300, 120), seed: Number(process.env.FC_SEED ?? 20261201), endOnFailure: true },
  );
  t.ok(refused > 0 && accepted > 0, `both kinds were exercised (${accepted} accepted, ${refused} refused)`);
});
