/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/repositories/statements-sql.test.ts > TAP > audit insert > two events in one insert 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "2026-12-01T00:00:00.000Z",
    "scim",
    "token-1",
    null,
    "req-1",
    "00000000-0000-7000-8000-000000000001,00000000-0000-7000-8000-000000000002",
    "group.member_added,access.changed",
    "group,user",
    "[\\"00000000-0000-4000-8000-0000000000c1\\",\\"00000000-0000-4000-8000-0000000000b1\\"]",
    "[{\\"userId\\":\\"00000000-0000-4000-8000-0000000000b1\\"},{\\"after\\":[\\"codex_local\\"],\\"before\\":[]}]",
    ",00000000-0000-7000-8000-000000000001",
  ],
  "sql": "insert into audit_events (id, workspace_id, occurred_at, actor_type, actor_id, actor_display, request_id, event_type, target_type, target_id, data, cause_id) select e.id, $1::uuid, $2::timestamptz, $3, $4, $5::text, $6::text, e.event_type, e.target_type, e.target_id, e.data, e.cause_id from rows from ( unnest(string_to_array($7::text, ',')::uuid[]), unnest(string_to_array($8::text, ',')), unnest(string_to_array($9::text, ',')), jsonb_array_elements_text($10::jsonb), jsonb_array_elements($11::jsonb), unnest(string_to_array($12::text, ',', '')::uuid[]) ) with ordinality as e(id, event_type, target_type, target_id, data, cause_id, n) order by e.n",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-access recompute > users 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "{00000000-0000-4000-8000-0000000000b1}",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with settings as ( select coalesce(max(strategy), 'most-permissive') as strategy, max(default_role_id::text)::uuid as default_role_id from workspace_access_settings where workspace_id = $1 ), scope as ( select i.user_id, u.id is not null as present, coalesce(u.active, false) as active from (select x.id as user_id from unnest(cast($2 as uuid[])) as x(id)) as i left join users u on u.id = i.user_id and u.workspace_id = $3 ), group_roles as ( select g.id as group_id, m.id as mapping_id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.id = m.group_id where m.workspace_id = $4 and m.group_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.external_id = m.group_external_id where m.workspace_id = $5 and m.group_external_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and lower(g.display_name) = lower(m.group_display_name) where m.workspace_id = $6 and m.group_display_name is not null), -- direct roles ∪ roles mapped to the user's groups (duplicates removed in role_sets) assigned as ( select ur.user_id, ur.role_id from user_roles ur join scope s on s.user_id = ur.user_id and s.present union all select gm.user_id, gr.role_id from group_members gm join scope s on s.user_id = gm.user_id and s.present join group_roles gr on gr.group_id = gm.group_id ), -- The user's role set — or the default role when that is empty — is all that decides their -- permissions besides their own state. Users share a handful of role sets, so the permissions -- are resolved once per distinct set, not once per user. role_sets as ( select s.user_id, s.present, s.active, case when r.role_ids is not null then r.role_ids when s.present and st.default_role_id is not null then array[st.default_role_id] else '{}'::uuid[] end as role_ids from scope s cross join settings st left join (select user_id, array_agg(distinct role_id order by role_id) as role_ids from assigned group by user_id) as r on r.user_id = s.user_id ), distinct_sets as ( select distinct role_ids from role_sets ), votes as ( select d.role_ids, rp.permission_key as key, bool_or(rp.effect = 'allow') as allowed, bool_or(rp.effect = 'deny') as denied from distinct_sets d cross join lateral unnest(d.role_ids) as x(role_id) join role_permissions rp on rp.role_id = x.role_id group by d.role_ids, rp.permission_key ), held as ( -- the votes combined by the strategy; the baseline when no role decides the permission select d.role_ids, p.key from distinct_sets d cross join settings st join permissions p on p.workspace_id = $7 left join votes v on v.role_ids = d.role_ids and v.key = p.key where case when v.key is null then p.baseline when st.strategy = 'deny-overrides' then not v.denied and (v.allowed or p.baseline) else v.allowed or (not v.denied and p.baseline) end ), set_granted as ( select role_ids, array_agg(key order by key collate \\"C\\") as granted from held group by role_ids ), computed as ( select rs.user_id, rs.present, -- a deactivated (or deleted) user holds nothing case when rs.active then coalesce(sg.granted, '{}'::text[]) else '{}'::text[] end as granted, rs.role_ids from role_sets rs left join set_granted sg on sg.role_ids = rs.role_ids ), changed as ( select c.user_id, c.present, c.granted, c.role_ids, coalesce(o.granted, '{}'::text[]) as before from computed c left join user_access o on o.workspace_id = $8 and o.user_id = c.user_id where case when c.present then o.user_id is null or o.granted <> c.granted or o.role_ids <> c.role_ids else o.user_id is not null end ), upserted as ( insert into user_access (user_id, workspace_id, granted, role_ids, updated_at) select user_id, $9, granted, role_ids, now() from changed where present on conflict (workspace_id, user_id) do update set granted = excluded.granted, role_ids = excluded.role_ids, updated_at = excluded.updated_at returning 1 ), removed as ( delete from user_access ua using changed c where ua.workspace_id = $10 and ua.user_id = c.user_id and not c.present returning 1 ) select user_id, before, granted as after from changed where before <> granted order by user_id",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-access recompute > users, groups and roles 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "{00000000-0000-4000-8000-0000000000b1}",
    "{00000000-0000-4000-8000-0000000000c1}",
    "00000000-0000-4000-8000-00000000000a",
    "{00000000-0000-4000-8000-0000000000d1}",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with settings as ( select coalesce(max(strategy), 'most-permissive') as strategy, max(default_role_id::text)::uuid as default_role_id from workspace_access_settings where workspace_id = $1 ), scope as ( select i.user_id, u.id is not null as present, coalesce(u.active, false) as active from (select x.id as user_id from unnest(cast($2 as uuid[])) as x(id) union select gm.user_id from group_members gm join unnest(cast($3 as uuid[])) as x(id) on gm.group_id = x.id union select ua.user_id from user_access ua where ua.workspace_id = $4 and ua.role_ids && cast($5 as uuid[])) as i left join users u on u.id = i.user_id and u.workspace_id = $6 ), group_roles as ( select g.id as group_id, m.id as mapping_id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.id = m.group_id where m.workspace_id = $7 and m.group_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.external_id = m.group_external_id where m.workspace_id = $8 and m.group_external_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and lower(g.display_name) = lower(m.group_display_name) where m.workspace_id = $9 and m.group_display_name is not null), -- direct roles ∪ roles mapped to the user's groups (duplicates removed in role_sets) assigned as ( select ur.user_id, ur.role_id from user_roles ur join scope s on s.user_id = ur.user_id and s.present union all select gm.user_id, gr.role_id from group_members gm join scope s on s.user_id = gm.user_id and s.present join group_roles gr on gr.group_id = gm.group_id ), -- The user's role set — or the default role when that is empty — is all that decides their -- permissions besides their own state. Users share a handful of role sets, so the permissions -- are resolved once per distinct set, not once per user. role_sets as ( select s.user_id, s.present, s.active, case when r.role_ids is not null then r.role_ids when s.present and st.default_role_id is not null then array[st.default_role_id] else '{}'::uuid[] end as role_ids from scope s cross join settings st left join (select user_id, array_agg(distinct role_id order by role_id) as role_ids from assigned group by user_id) as r on r.user_id = s.user_id ), distinct_sets as ( select distinct role_ids from role_sets ), votes as ( select d.role_ids, rp.permission_key as key, bool_or(rp.effect = 'allow') as allowed, bool_or(rp.effect = 'deny') as denied from distinct_sets d cross join lateral unnest(d.role_ids) as x(role_id) join role_permissions rp on rp.role_id = x.role_id group by d.role_ids, rp.permission_key ), held as ( -- the votes combined by the strategy; the baseline when no role decides the permission select d.role_ids, p.key from distinct_sets d cross join settings st join permissions p on p.workspace_id = $10 left join votes v on v.role_ids = d.role_ids and v.key = p.key where case when v.key is null then p.baseline when st.strategy = 'deny-overrides' then not v.denied and (v.allowed or p.baseline) else v.allowed or (not v.denied and p.baseline) end ), set_granted as ( select role_ids, array_agg(key order by key collate \\"C\\") as granted from held group by role_ids ), computed as ( select rs.user_id, rs.present, -- a deactivated (or deleted) user holds nothing case when rs.active then coalesce(sg.granted, '{}'::text[]) else '{}'::text[] end as granted, rs.role_ids from role_sets rs left join set_granted sg on sg.role_ids = rs.role_ids ), changed as ( select c.user_id, c.present, c.granted, c.role_ids, coalesce(o.granted, '{}'::text[]) as before from computed c left join user_access o on o.workspace_id = $11 and o.user_id = c.user_id where case when c.present then o.user_id is null or o.granted <> c.granted or o.role_ids <> c.role_ids else o.user_id is not null end ), upserted as ( insert into user_access (user_id, workspace_id, granted, role_ids, updated_at) select user_id, $12, granted, role_ids, now() from changed where present on conflict (workspace_id, user_id) do update set granted = excluded.granted, role_ids = excluded.role_ids, updated_at = excluded.updated_at returning 1 ), removed as ( delete from user_access ua using changed c where ua.workspace_id = $13 and ua.user_id = c.user_id and not c.present returning 1 ) select user_id, before, granted as after from changed where before <> granted order by user_id",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-access recompute > workspace 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with settings as ( select coalesce(max(strategy), 'most-permissive') as strategy, max(default_role_id::text)::uuid as default_role_id from workspace_access_settings where workspace_id = $1 ), scope as ( select i.user_id, u.id is not null as present, coalesce(u.active, false) as active from (select id as user_id from users where workspace_id = $2 union select user_id from user_access where workspace_id = $3) as i left join users u on u.id = i.user_id and u.workspace_id = $4 ), group_roles as ( select g.id as group_id, m.id as mapping_id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.id = m.group_id where m.workspace_id = $5 and m.group_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and g.external_id = m.group_external_id where m.workspace_id = $6 and m.group_external_id is not null union all select g.id, m.id, m.role_id from role_mappings m join groups g on g.workspace_id = m.workspace_id and lower(g.display_name) = lower(m.group_display_name) where m.workspace_id = $7 and m.group_display_name is not null), -- direct roles ∪ roles mapped to the user's groups (duplicates removed in role_sets) assigned as ( select ur.user_id, ur.role_id from user_roles ur join scope s on s.user_id = ur.user_id and s.present union all select gm.user_id, gr.role_id from group_members gm join scope s on s.user_id = gm.user_id and s.present join group_roles gr on gr.group_id = gm.group_id ), -- The user's role set — or the default role when that is empty — is all that decides their -- permissions besides their own state. Users share a handful of role sets, so the permissions -- are resolved once per distinct set, not once per user. role_sets as ( select s.user_id, s.present, s.active, case when r.role_ids is not null then r.role_ids when s.present and st.default_role_id is not null then array[st.default_role_id] else '{}'::uuid[] end as role_ids from scope s cross join settings st left join (select user_id, array_agg(distinct role_id order by role_id) as role_ids from assigned group by user_id) as r on r.user_id = s.user_id ), distinct_sets as ( select distinct role_ids from role_sets ), votes as ( select d.role_ids, rp.permission_key as key, bool_or(rp.effect = 'allow') as allowed, bool_or(rp.effect = 'deny') as denied from distinct_sets d cross join lateral unnest(d.role_ids) as x(role_id) join role_permissions rp on rp.role_id = x.role_id group by d.role_ids, rp.permission_key ), held as ( -- the votes combined by the strategy; the baseline when no role decides the permission select d.role_ids, p.key from distinct_sets d cross join settings st join permissions p on p.workspace_id = $8 left join votes v on v.role_ids = d.role_ids and v.key = p.key where case when v.key is null then p.baseline when st.strategy = 'deny-overrides' then not v.denied and (v.allowed or p.baseline) else v.allowed or (not v.denied and p.baseline) end ), set_granted as ( select role_ids, array_agg(key order by key collate \\"C\\") as granted from held group by role_ids ), computed as ( select rs.user_id, rs.present, -- a deactivated (or deleted) user holds nothing case when rs.active then coalesce(sg.granted, '{}'::text[]) else '{}'::text[] end as granted, rs.role_ids from role_sets rs left join set_granted sg on sg.role_ids = rs.role_ids ), changed as ( select c.user_id, c.present, c.granted, c.role_ids, coalesce(o.granted, '{}'::text[]) as before from computed c left join user_access o on o.workspace_id = $9 and o.user_id = c.user_id where case when c.present then o.user_id is null or o.granted <> c.granted or o.role_ids <> c.role_ids else o.user_id is not null end ), upserted as ( insert into user_access (user_id, workspace_id, granted, role_ids, updated_at) select user_id, $10, granted, role_ids, now() from changed where present on conflict (workspace_id, user_id) do update set granted = excluded.granted, role_ids = excluded.role_ids, updated_at = excluded.updated_at returning 1 ), removed as ( delete from user_access ua using changed c where ua.workspace_id = $11 and ua.user_id = c.user_id and not c.present returning 1 ) select user_id, before, granted as after from changed where before <> granted order by user_id",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-policy recompute > policy 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-0000000000d1",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with scope as (select user_id from user_policy where workspace_id = $1 and policy_id = $2), subject as ( select s.user_id, coalesce(u.active, false) as active from scope s left join users u on u.id = s.user_id and u.workspace_id = $3 ), first_rule as ( select distinct on (m.user_id) m.user_id, r.policy_id, r.group_id from subject s join group_members m on m.user_id = s.user_id join policy_rules r on r.workspace_id = $4 and r.group_id = m.group_id where s.active order by m.user_id, r.position ), computed as ( select s.user_id, coalesce(f.policy_id, a.fallback_policy_id) as policy_id, case when f.policy_id is not null then 'rule' else 'fallback' end as source, f.group_id as rule_group_id from subject s left join first_rule f on f.user_id = s.user_id left join policy_assignments a on a.workspace_id = $5 where s.active and coalesce(f.policy_id, a.fallback_policy_id) is not null ), target as ( select c.user_id, c.policy_id, p.name as policy_name, p.current_version as policy_version, c.source, c.rule_group_id from computed c join policies p on p.id = c.policy_id ), existing as ( select up.user_id, up.policy_id, p.name as policy_name, up.policy_version, up.source, up.rule_group_id from user_policy up join scope s on s.user_id = up.user_id join policies p on p.id = up.policy_id where up.workspace_id = $6 ), diff as ( select coalesce(t.user_id, e.user_id) as user_id, e.policy_id as before_policy_id, e.policy_name as before_policy_name, e.policy_version as before_version, e.source as before_source, e.rule_group_id as before_group_id, t.policy_id as after_policy_id, t.policy_name as after_policy_name, t.policy_version as after_version, t.source as after_source, t.rule_group_id as after_group_id from target t full join existing e on e.user_id = t.user_id where (t.policy_id, t.policy_version, t.source, t.rule_group_id) is distinct from (e.policy_id, e.policy_version, e.source, e.rule_group_id) ), removed as ( delete from user_policy up using diff d where up.user_id = d.user_id and up.workspace_id = $7 and d.after_policy_id is null returning 1 ), upserted as ( insert into user_policy (user_id, workspace_id, policy_id, policy_version, source, rule_group_id, updated_at) select user_id, $8, after_policy_id, after_version, after_source, after_group_id, now() from diff where after_policy_id is not null on conflict (user_id) do update set policy_id = excluded.policy_id, policy_version = excluded.policy_version, source = excluded.source, rule_group_id = excluded.rule_group_id, updated_at = excluded.updated_at returning 1 ) select * from diff where (before_policy_id, before_version) is distinct from (after_policy_id, after_version) order by user_id",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-policy recompute > users 1`] = `
Object {
  "parameters": Array [
    "{00000000-0000-4000-8000-0000000000b1}",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with scope as (select distinct x.id as user_id from unnest(cast($1 as uuid[])) as x(id)), subject as ( select s.user_id, coalesce(u.active, false) as active from scope s left join users u on u.id = s.user_id and u.workspace_id = $2 ), first_rule as ( select distinct on (m.user_id) m.user_id, r.policy_id, r.group_id from subject s join group_members m on m.user_id = s.user_id join policy_rules r on r.workspace_id = $3 and r.group_id = m.group_id where s.active order by m.user_id, r.position ), computed as ( select s.user_id, coalesce(f.policy_id, a.fallback_policy_id) as policy_id, case when f.policy_id is not null then 'rule' else 'fallback' end as source, f.group_id as rule_group_id from subject s left join first_rule f on f.user_id = s.user_id left join policy_assignments a on a.workspace_id = $4 where s.active and coalesce(f.policy_id, a.fallback_policy_id) is not null ), target as ( select c.user_id, c.policy_id, p.name as policy_name, p.current_version as policy_version, c.source, c.rule_group_id from computed c join policies p on p.id = c.policy_id ), existing as ( select up.user_id, up.policy_id, p.name as policy_name, up.policy_version, up.source, up.rule_group_id from user_policy up join scope s on s.user_id = up.user_id join policies p on p.id = up.policy_id where up.workspace_id = $5 ), diff as ( select coalesce(t.user_id, e.user_id) as user_id, e.policy_id as before_policy_id, e.policy_name as before_policy_name, e.policy_version as before_version, e.source as before_source, e.rule_group_id as before_group_id, t.policy_id as after_policy_id, t.policy_name as after_policy_name, t.policy_version as after_version, t.source as after_source, t.rule_group_id as after_group_id from target t full join existing e on e.user_id = t.user_id where (t.policy_id, t.policy_version, t.source, t.rule_group_id) is distinct from (e.policy_id, e.policy_version, e.source, e.rule_group_id) ), removed as ( delete from user_policy up using diff d where up.user_id = d.user_id and up.workspace_id = $6 and d.after_policy_id is null returning 1 ), upserted as ( insert into user_policy (user_id, workspace_id, policy_id, policy_version, source, rule_group_id, updated_at) select user_id, $7, after_policy_id, after_version, after_source, after_group_id, now() from diff where after_policy_id is not null on conflict (user_id) do update set policy_id = excluded.policy_id, policy_version = excluded.policy_version, source = excluded.source, rule_group_id = excluded.rule_group_id, updated_at = excluded.updated_at returning 1 ) select * from diff where (before_policy_id, before_version) is distinct from (after_policy_id, after_version) order by user_id",
}
`

exports[`test/repositories/statements-sql.test.ts > TAP > effective-policy recompute > workspace 1`] = `
Object {
  "parameters": Array [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000a",
  ],
  "sql": "with scope as (select id as user_id from users where workspace_id = $1 union select user_id from user_policy where workspace_id = $2), subject as ( select s.user_id, coalesce(u.active, false) as active from scope s left join users u on u.id = s.user_id and u.workspace_id = $3 ), first_rule as ( select distinct on (m.user_id) m.user_id, r.policy_id, r.group_id from subject s join group_members m on m.user_id = s.user_id join policy_rules r on r.workspace_id = $4 and r.group_id = m.group_id where s.active order by m.user_id, r.position ), computed as ( select s.user_id, coalesce(f.policy_id, a.fallback_policy_id) as policy_id, case when f.policy_id is not null then 'rule' else 'fallback' end as source, f.group_id as rule_group_id from subject s left join first_rule f on f.user_id = s.user_id left join policy_assignments a on a.workspace_id = $5 where s.active and coalesce(f.policy_id, a.fallback_policy_id) is not null ), target as ( select c.user_id, c.policy_id, p.name as policy_name, p.current_version as policy_version, c.source, c.rule_group_id from computed c join policies p on p.id = c.policy_id ), existing as ( select up.user_id, up.policy_id, p.name as policy_name, up.policy_version, up.source, up.rule_group_id from user_policy up join scope s on s.user_id = up.user_id join policies p on p.id = up.policy_id where up.workspace_id = $6 ), diff as ( select coalesce(t.user_id, e.user_id) as user_id, e.policy_id as before_policy_id, e.policy_name as before_policy_name, e.policy_version as before_version, e.source as before_source, e.rule_group_id as before_group_id, t.policy_id as after_policy_id, t.policy_name as after_policy_name, t.policy_version as after_version, t.source as after_source, t.rule_group_id as after_group_id from target t full join existing e on e.user_id = t.user_id where (t.policy_id, t.policy_version, t.source, t.rule_group_id) is distinct from (e.policy_id, e.policy_version, e.source, e.rule_group_id) ), removed as ( delete from user_policy up using diff d where up.user_id = d.user_id and up.workspace_id = $7 and d.after_policy_id is null returning 1 ), upserted as ( insert into user_policy (user_id, workspace_id, policy_id, policy_version, source, rule_group_id, updated_at) select user_id, $8, after_policy_id, after_version, after_source, after_group_id, now() from diff where after_policy_id is not null on conflict (user_id) do update set policy_id = excluded.policy_id, policy_version = excluded.policy_version, source = excluded.source, rule_group_id = excluded.rule_group_id, updated_at = excluded.updated_at returning 1 ) select * from diff where (before_policy_id, before_version) is distinct from (after_policy_id, after_version) order by user_id",
}
`
