/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`.tmp/build/test/repositories/read-plans.test.js > TAP > hot read plans > GET /Groups/{id} 1`] = `
Seq Scan on groups
  Filter: ((workspace_id = '<uuid>'::uuid) AND (id = '<uuid>'::uuid))
`

exports[`.tmp/build/test/repositories/read-plans.test.js > TAP > hot read plans > GET /Users?count=100 1`] = `
Aggregate
  ->  Seq Scan on users
        Filter: (workspace_id = '<uuid>'::uuid)

Limit
  ->  Index Scan using users_workspace_created_idx on users
        Index Cond: (workspace_id = '<uuid>'::uuid)

Sort
  Sort Key: g.display_name
  ->  Nested Loop
        Join Filter: (m.group_id = g.id)
        ->  Seq Scan on groups g
        ->  Seq Scan on group_members m
              Filter: ((workspace_id = '<uuid>'::uuid) AND (user_id = ANY ('{<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>,<uuid>}'::uuid[])))
`

exports[`.tmp/build/test/repositories/read-plans.test.js > TAP > hot read plans > GET /Users?filter=userName eq 1`] = `
Limit
  ->  Sort
        Sort Key: created_at, id
        ->  WindowAgg
              ->  Index Scan using users_workspace_user_name_key on users
                    Index Cond: ((workspace_id = '<uuid>'::uuid) AND (lower(user_name) = '<userName>'::text))

Sort
  Sort Key: g.display_name
  ->  Nested Loop
        Join Filter: (m.group_id = g.id)
        ->  Index Scan using group_members_user_idx on group_members m
              Index Cond: (user_id = '<uuid>'::uuid)
              Filter: (workspace_id = '<uuid>'::uuid)
        ->  Seq Scan on groups g
`

exports[`.tmp/build/test/repositories/read-plans.test.js > TAP > hot read plans > GET /Users/{id} 1`] = `
Index Scan using users_pkey on users
  Index Cond: (id = '<uuid>'::uuid)
  Filter: (workspace_id = '<uuid>'::uuid)

Sort
  Sort Key: g.display_name
  ->  Nested Loop
        Join Filter: (m.group_id = g.id)
        ->  Index Scan using group_members_user_idx on group_members m
              Index Cond: (user_id = '<uuid>'::uuid)
              Filter: (workspace_id = '<uuid>'::uuid)
        ->  Seq Scan on groups g
`

exports[`.tmp/build/test/repositories/read-plans.test.js > TAP > hot read plans > POST /api/v1/decisions, one user 1`] = `
Nested Loop Left Join
  InitPlan 1 (returns $0)
    ->  Seq Scan on access_model_versions
          Filter: (workspace_id = '<uuid>'::uuid)
  ->  Result
  ->  Nested Loop Left Join
        Join Filter: (ua.user_id = u.id)
        ->  Index Scan using users_pkey on users u
              Index Cond: (id = '<uuid>'::uuid)
              Filter: (workspace_id = '<uuid>'::uuid)
        ->  Seq Scan on user_access ua
              Filter: ((workspace_id = '<uuid>'::uuid) AND (user_id = '<uuid>'::uuid))
  SubPlan 2
    ->  Limit
          ->  Sort
                Sort Key: ((COALESCE((e.value ->> 'primary'::text), ''::text) = 'true'::text)) DESC
                ->  Function Scan on jsonb_array_elements e
  SubPlan 3
    ->  Sort
          Sort Key: ur.role_id
          ->  Seq Scan on user_roles ur
                Filter: (user_id = u.id)
  SubPlan 5
    ->  Aggregate
          ->  Nested Loop
                Join Filter: (gm.group_id = g.id)
                ->  Index Scan using group_members_user_idx on group_members gm
                      Index Cond: (user_id = u.id)
                ->  Seq Scan on groups g
                      Filter: (workspace_id = '<uuid>'::uuid)
          SubPlan 4
            ->  Sort
                  Sort Key: m.id
                  ->  Seq Scan on role_mappings m
                        Filter: ((workspace_id = '<uuid>'::uuid) AND ((group_id = g.id) OR (group_external_id = g.external_id) OR (lower(group_display_name) = lower(g.display_name))))

Sort
  Sort Key: key COLLATE "C"
  ->  Seq Scan on permissions
        Filter: (workspace_id = '<uuid>'::uuid)

Sort
  Sort Key: (lower(name)), id
  ->  Seq Scan on roles
        Filter: (workspace_id = '<uuid>'::uuid)

Sort
  Sort Key: id
  ->  Seq Scan on role_mappings
        Filter: (workspace_id = '<uuid>'::uuid)

Seq Scan on workspace_access_settings
  Filter: (workspace_id = '<uuid>'::uuid)

Nested Loop Left Join
  InitPlan 1 (returns $0)
    ->  Seq Scan on access_model_versions
          Filter: (workspace_id = '<uuid>'::uuid)
  ->  Result
  ->  Nested Loop Left Join
        Join Filter: (ua.user_id = u.id)
        ->  Index Scan using users_pkey on users u
              Index Cond: (id = '<uuid>'::uuid)
              Filter: (workspace_id = '<uuid>'::uuid)
        ->  Seq Scan on user_access ua
              Filter: ((workspace_id = '<uuid>'::uuid) AND (user_id = '<uuid>'::uuid))
  SubPlan 2
    ->  Limit
          ->  Sort
                Sort Key: ((COALESCE((e.value ->> 'primary'::text), ''::text) = 'true'::text)) DESC
                ->  Function Scan on jsonb_array_elements e
  SubPlan 3
    ->  Sort
          Sort Key: ur.role_id
          ->  Seq Scan on user_roles ur
                Filter: (user_id = u.id)
  SubPlan 5
    ->  Aggregate
          ->  Nested Loop
                Join Filter: (gm.group_id = g.id)
                ->  Index Scan using group_members_user_idx on group_members gm
                      Index Cond: (user_id = u.id)
                ->  Seq Scan on groups g
                      Filter: (workspace_id = '<uuid>'::uuid)
          SubPlan 4
            ->  Sort
                  Sort Key: m.id
                  ->  Seq Scan on role_mappings m
                        Filter: ((workspace_id = '<uuid>'::uuid) AND ((group_id = g.id) OR (group_external_id = g.external_id) OR (lower(group_display_name) = lower(g.display_name))))

Sort
  Sort Key: permission_key COLLATE "C"
  ->  Seq Scan on role_permissions
        Filter: (role_id = ANY ('{<uuid>,<uuid>,<uuid>,<uuid>,<uuid>}'::uuid[]))
`
