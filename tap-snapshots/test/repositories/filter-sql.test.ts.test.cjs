/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > Group: displayName 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"groups\\" order by lower(nullif(\\"groups\\".\\"display_name\\", '')) collate \\"C\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: active 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by \\"users\\".\\"active\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: addresses.locality 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by (select lower(nullif((el.item->>'locality'), '')) collate \\"C\\" from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'addresses') = 'array' then \\"users\\".\\"resource\\"->'addresses' else '[]'::jsonb end) with ordinality as el(item, position) where (el.item->'locality') not in ('null', '\\"\\"', '[]', '{}') order by case when (case lower((el.item->>'primary')) when 'true' then true when 'false' then false end) then 0 else 1 end, el.position limit 1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: emails 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by (select lower(nullif((el.item->>'value'), '')) collate \\"C\\" from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) with ordinality as el(item, position) where (el.item->'value') not in ('null', '\\"\\"', '[]', '{}') order by case when (case lower((el.item->>'primary')) when 'true' then true when 'false' then false end) then 0 else 1 end, el.position limit 1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: emails.type 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by (select lower(nullif((el.item->>'type'), '')) collate \\"C\\" from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) with ordinality as el(item, position) where (el.item->'type') not in ('null', '\\"\\"', '[]', '{}') order by case when (case lower((el.item->>'primary')) when 'true' then true when 'false' then false end) then 0 else 1 end, el.position limit 1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: externalId 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by nullif(\\"users\\".\\"external_id\\", '') collate \\"C\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: id 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by \\"users\\".\\"id\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: meta.lastModified 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by \\"users\\".\\"updated_at\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: name.familyName 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by lower(nullif((\\"users\\".\\"resource\\"->'name'->>'familyName'), '')) collate \\"C\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by lower(nullif((\\"users\\".\\"resource\\"->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->>'employeeNumber'), '')) collate \\"C\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled sort keys > User: userName 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" order by lower(nullif(\\"users\\".\\"user_name\\", '')) collate \\"C\\"",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: displayName eq "Admins" 1`] = `
Object {
  "parameters": Array [
    "Admins",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where lower(\\"groups\\".\\"display_name\\") = lower($1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: externalId eq "g-1" and meta.lastModified ge "2020-01-01T00:00:00Z" 1`] = `
Object {
  "parameters": Array [
    "g-1",
    "2020-01-01T00:00:00Z",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where (\\"groups\\".\\"external_id\\" = $1 and \\"groups\\".\\"updated_at\\" >= $2::timestamptz)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"groups\\" where exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and true)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members.value co "2819" 1`] = `
Object {
  "parameters": Array [
    "%2819%",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and \\"gm\\".\\"user_id\\"::text like $1 escape '\\\\')",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members.value eq "2819c223-7f76-453a-919d-413861904646" 1`] = `
Object {
  "parameters": Array [
    "2819c223-7f76-453a-919d-413861904646",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and \\"gm\\".\\"user_id\\" = $1::uuid)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members.value ne "x" 1`] = `
Object {
  "parameters": Array [
    "x",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where (not exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and true) or exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and not coalesce(\\"gm\\".\\"user_id\\"::text = $1, false)))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members[display eq "Ada"] 1`] = `
Object {
  "parameters": Array [
    "Ada",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and lower(coalesce(nullif(\\"mu\\".\\"resource\\"->>'displayName', ''), \\"mu\\".\\"user_name\\")) = lower($1))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > Group: members[value eq "2819c223-7f76-453a-919d-413861904646"] 1`] = `
Object {
  "parameters": Array [
    "2819c223-7f76-453a-919d-413861904646",
  ],
  "sql": "select \\"id\\" from \\"groups\\" where exists (select 1 from group_members as gm join \\"users\\" as \\"mu\\" on \\"mu\\".\\"id\\" = \\"gm\\".\\"user_id\\" where \\"gm\\".\\"group_id\\" = \\"groups\\".\\"id\\" and \\"gm\\".\\"user_id\\" = $1::uuid)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: active eq false 1`] = `
Object {
  "parameters": Array [
    false,
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"active\\" = $1",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: active pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"active\\" is not null",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: displayName pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where (\\"users\\".\\"resource\\"->'displayName') not in ('null', '\\"\\"', '[]', '{}')",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails co "@example.com" 1`] = `
Object {
  "parameters": Array [
    "%@example.com%",
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where lower((el.item->>'value')) like lower($1) escape '\\\\')",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where exists (select 1 from jsonb_each(case when jsonb_typeof(el.item) = 'object' then el.item else '{}'::jsonb end) as kv(key, item) where kv.item not in ('null', '\\"\\"', '[]', '{}')))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails.type pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where (el.item->'type') not in ('null', '\\"\\"', '[]', '{}'))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails.value co "@example.com" 1`] = `
Object {
  "parameters": Array [
    "%@example.com%",
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where lower((el.item->>'value')) like lower($1) escape '\\\\')",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails.value ne "a@x.com" 1`] = `
Object {
  "parameters": Array [
    "a@x.com",
  ],
  "sql": "select \\"id\\" from \\"users\\" where (not exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where true) or exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where not coalesce(lower((el.item->>'value')) = lower($1), false)))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails[primary eq true] 1`] = `
Object {
  "parameters": Array [
    true,
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where (case lower((el.item->>'primary')) when 'true' then true when 'false' then false end) = $1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: emails[type eq "work" and value co "@example.com"] 1`] = `
Object {
  "parameters": Array [
    "work",
    "%@example.com%",
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where (lower((el.item->>'type')) = lower($1) and lower((el.item->>'value')) like lower($2) escape '\\\\'))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: externalId eq "ext-1" 1`] = `
Object {
  "parameters": Array [
    "ext-1",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"external_id\\" = $1",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: groups.display co "adm" and groups.type eq "direct" 1`] = `
Object {
  "parameters": Array [
    "%adm%",
    "direct",
  ],
  "sql": "select \\"id\\" from \\"users\\" where (exists (select 1 from group_members as gm join \\"groups\\" as \\"mg\\" on \\"mg\\".\\"id\\" = \\"gm\\".\\"group_id\\" where \\"gm\\".\\"user_id\\" = \\"users\\".\\"id\\" and lower(\\"mg\\".\\"display_name\\") like lower($1) escape '\\\\') and exists (select 1 from group_members as gm join \\"groups\\" as \\"mg\\" on \\"mg\\".\\"id\\" = \\"gm\\".\\"group_id\\" where \\"gm\\".\\"user_id\\" = \\"users\\".\\"id\\" and lower('direct') = lower($2)))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: groups.value eq "2819c223-7f76-453a-919d-413861904646" 1`] = `
Object {
  "parameters": Array [
    "2819c223-7f76-453a-919d-413861904646",
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from group_members as gm join \\"groups\\" as \\"mg\\" on \\"mg\\".\\"id\\" = \\"gm\\".\\"group_id\\" where \\"gm\\".\\"user_id\\" = \\"users\\".\\"id\\" and \\"gm\\".\\"group_id\\" = $1::uuid)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: groups[display eq "Admins"] 1`] = `
Object {
  "parameters": Array [
    "Admins",
  ],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from group_members as gm join \\"groups\\" as \\"mg\\" on \\"mg\\".\\"id\\" = \\"gm\\".\\"group_id\\" where \\"gm\\".\\"user_id\\" = \\"users\\".\\"id\\" and lower(\\"mg\\".\\"display_name\\") = lower($1))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: id eq "2819c223-7f76-453a-919d-413861904646" 1`] = `
Object {
  "parameters": Array [
    "2819c223-7f76-453a-919d-413861904646",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"id\\" = $1::uuid",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: id eq "not-a-uuid" 1`] = `
Object {
  "parameters": Array [
    "not-a-uuid",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"id\\"::text = $1",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: id sw "2819" 1`] = `
Object {
  "parameters": Array [
    "2819%",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"id\\"::text like $1 escape '\\\\'",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: meta pr and meta.location pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where (true and true)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: meta.created le "2011-05-13T04:42:34+02:00" 1`] = `
Object {
  "parameters": Array [
    "2011-05-13T04:42:34+02:00",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"created_at\\" <= $1::timestamptz",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: meta.lastModified gt "2011-05-13T04:42:34Z" 1`] = `
Object {
  "parameters": Array [
    "2011-05-13T04:42:34Z",
  ],
  "sql": "select \\"id\\" from \\"users\\" where \\"users\\".\\"updated_at\\" > $1::timestamptz",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: meta.resourceType eq "User" 1`] = `
Object {
  "parameters": Array [
    "User",
  ],
  "sql": "select \\"id\\" from \\"users\\" where 'User' = $1",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: meta.version eq "W/\\"3\\"" 1`] = `
Object {
  "parameters": Array [
    "W/\\"3\\"",
  ],
  "sql": "select \\"id\\" from \\"users\\" where ('W/\\"' || \\"users\\".\\"version\\" || '\\"') = $1",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: name pr 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where exists (select 1 from jsonb_each(case when jsonb_typeof(\\"users\\".\\"resource\\"->'name') = 'object' then \\"users\\".\\"resource\\"->'name' else '{}'::jsonb end) as kv(key, item) where kv.item not in ('null', '\\"\\"', '[]', '{}'))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: name.familyName co "O'Malley" 1`] = `
Object {
  "parameters": Array [
    "%O'Malley%",
  ],
  "sql": "select \\"id\\" from \\"users\\" where lower((\\"users\\".\\"resource\\"->'name'->>'familyName')) like lower($1) escape '\\\\'",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: not (emails[type eq "work"]) or ims[type eq "xmpp"] 1`] = `
Object {
  "parameters": Array [
    "work",
    "xmpp",
  ],
  "sql": "select \\"id\\" from \\"users\\" where (not coalesce(exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'emails') = 'array' then \\"users\\".\\"resource\\"->'emails' else '[]'::jsonb end) as el(item) where lower((el.item->>'type')) = lower($1)), false) or exists (select 1 from jsonb_array_elements(case when jsonb_typeof(\\"users\\".\\"resource\\"->'ims') = 'array' then \\"users\\".\\"resource\\"->'ims' else '[]'::jsonb end) as el(item) where lower((el.item->>'type')) = lower($2)))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: not (groups pr) 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where not coalesce(exists (select 1 from group_members as gm join \\"groups\\" as \\"mg\\" on \\"mg\\".\\"id\\" = \\"gm\\".\\"group_id\\" where \\"gm\\".\\"user_id\\" = \\"users\\".\\"id\\" and true), false)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: title eq null 1`] = `
Object {
  "parameters": Array [],
  "sql": "select \\"id\\" from \\"users\\" where not coalesce((\\"users\\".\\"resource\\"->'title') not in ('null', '\\"\\"', '[]', '{}'), false)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: title ne "Boss" 1`] = `
Object {
  "parameters": Array [
    "Boss",
  ],
  "sql": "select \\"id\\" from \\"users\\" where not coalesce(lower((\\"users\\".\\"resource\\"->>'title')) = lower($1), false)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D" 1`] = `
Object {
  "parameters": Array [
    "R&D",
  ],
  "sql": "select \\"id\\" from \\"users\\" where lower((\\"users\\".\\"resource\\"->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->>'department')) = lower($1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "2819c223-7f76-453a-919d-413861904646" 1`] = `
Object {
  "parameters": Array [
    "2819c223-7f76-453a-919d-413861904646",
  ],
  "sql": "select \\"id\\" from \\"users\\" where lower((\\"users\\".\\"resource\\"->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->'manager'->>'value')) = lower($1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: userName eq "a" or userName eq "b" and not (active eq true) 1`] = `
Object {
  "parameters": Array [
    "a",
    "b",
    true,
  ],
  "sql": "select \\"id\\" from \\"users\\" where (lower(\\"users\\".\\"user_name\\") = lower($1) or (lower(\\"users\\".\\"user_name\\") = lower($2) and not coalesce(\\"users\\".\\"active\\" = $3, false)))",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: userName eq "Bjensen" 1`] = `
Object {
  "parameters": Array [
    "Bjensen",
  ],
  "sql": "select \\"id\\" from \\"users\\" where lower(\\"users\\".\\"user_name\\") = lower($1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: userName gt "m" 1`] = `
Object {
  "parameters": Array [
    "m",
  ],
  "sql": "select \\"id\\" from \\"users\\" where lower(\\"users\\".\\"user_name\\") collate \\"C\\" > lower($1)",
}
`

exports[`.tmp/build/test/repositories/filter-sql.test.js > TAP > compiled SQL > User: userName sw "J" and userName ew "%_\\\\" 1`] = `
Object {
  "parameters": Array [
    "J%",
    "%\\\\%\\\\_\\\\\\\\",
  ],
  "sql": "select \\"id\\" from \\"users\\" where (lower(\\"users\\".\\"user_name\\") like lower($1) escape '\\\\' and lower(\\"users\\".\\"user_name\\") like lower($2) escape '\\\\')",
}
`
