import { Type } from '@fastify/type-provider-typebox';
import { MAX_DESCRIPTION, MAX_GROUP_REFERENCE, MAX_NAME, PERMISSION_KEY } from '../../access/validate.js';
import { MAX_DECISION_USERS } from '../../services/decisions.service.js';
import { DEFAULT_HOLDERS_PAGE, MAX_BATCH, MAX_HOLDERS_PAGE } from '../../services/effective-access.service.js';
import { Cursor, Limit, Name, NO_CONTROL_PATTERN, Nullable, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';

// Schemas of the access-model routes (permissions, roles, mappings, assignments, settings,
// effective permissions). The services validate the meaning (a key of the catalogue, an existing
// role); these schemas validate the shape and are what the OpenAPI document shows.

/** Dates leave the services as Date objects; the serializer writes them as ISO 8601. */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });

export const PermissionKey = Type.String({ pattern: PERMISSION_KEY.source, description: 'e.g. codex_local' });
export const Effect = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
export const EffectSetting = Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('inherit')], {
  description: "inherit = the permission's workspace baseline",
});
export const Strategy = Type.Union([Type.Literal('most-permissive'), Type.Literal('deny-overrides')], {
  description: 'most-permissive: any allow wins, else any deny, else the baseline. deny-overrides: any deny wins, else any allow, else the baseline.',
});

export const Permission = Type.Object(
  {
    key: Type.String(),
    description: Type.String(),
    baseline: Type.Boolean({ description: 'What a user holds when none of their roles decides the permission' }),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Permission' },
);

export const CreatePermission = Type.Object(
  {
    key: PermissionKey,
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    baseline: Defaulted(Type.Boolean({ default: false })),
  },
  { additionalProperties: false, title: 'CreatePermission' },
);

export const UpdatePermission = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })), baseline: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, title: 'UpdatePermission' },
);

export const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) });

const RoleName = Name(MAX_NAME);
const GroupReference = Type.String({ minLength: 1, maxLength: MAX_GROUP_REFERENCE, pattern: NO_CONTROL_PATTERN });
const Effects = Type.Record(Type.String(), EffectSetting, { description: 'Per permission key: allow, deny or inherit' });

export const Role = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    permissions: Type.Record(Type.String(), Effect, { description: 'Only the permissions the role decides; every other one inherits' }),
    isDefault: Type.Boolean(),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Role' },
);

export const CreateRole = Type.Object(
  { name: RoleName, description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })), permissions: Type.Optional(Effects) },
  { additionalProperties: false, title: 'CreateRole' },
);

export const UpdateRole = Type.Object(
  {
    name: Type.Optional(RoleName),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    permissions: Type.Optional(Effects),
    replacePermissions: Type.Optional(
      Type.Boolean({ description: 'true: the role decides exactly `permissions` (others inherit); false (default): merge into its settings' }),
    ),
  },
  { additionalProperties: false, title: 'UpdateRole' },
);

export const RoleParams = Type.Object({ role: Type.String({ minLength: 1, maxLength: MAX_NAME, description: 'Role id or name (case-insensitive)' }) });

const MatchedBy = Type.Union([Type.Literal('id'), Type.Literal('externalId'), Type.Literal('displayName')]);

export const Mapping = Type.Object(
  {
    id: Uuid,
    roleId: Uuid,
    roleName: Type.String(),
    group: Type.Object({ by: MatchedBy, value: Type.String() }, { description: 'How the mapping names its group' }),
    matchedGroups: Type.Array(Type.Object({ id: Uuid, displayName: Type.String() }), {
      description: 'The provisioned groups it matches now (empty until the IdP pushes the group)',
    }),
    createdAt: DateTime,
  },
  { title: 'Mapping' },
);

export const CreateMapping = Type.Object(
  {
    roleId: Uuid,
    groupId: Type.Optional(Uuid),
    groupExternalId: Type.Optional(GroupReference),
    groupDisplayName: Type.Optional(GroupReference),
  },
  {
    additionalProperties: false,
    title: 'CreateMapping',
    description: 'Exactly one of groupId, groupExternalId, groupDisplayName. displayName matches case-insensitively and works before the IdP has pushed the group.',
  },
);

export const MappingQuery = Type.Object({ roleId: Type.Optional(Uuid), groupId: Type.Optional(Uuid), limit: Defaulted(Limit), cursor: Type.Optional(Cursor) });

export const DirectRole = Type.Object({ roleId: Uuid, roleName: Type.String(), assignedAt: DateTime }, { title: 'DirectRoleAssignment' });

export const DefaultRole = Type.Object(
  { roleId: Nullable(Uuid), roleName: Nullable(Type.String()) },
  { title: 'DefaultRole', description: 'Applies to every active user who has no role of their own; null: such users get the baselines' },
);

export const SetDefaultRole = Type.Object({ roleId: Nullable(Uuid) }, { additionalProperties: false, title: 'SetDefaultRole' });

export const Settings = Type.Object(
  {
    strategy: Strategy,
    defaultRoleId: Nullable(Uuid),
    defaultRoleName: Nullable(Type.String()),
    baselines: Type.Record(Type.String(), Type.Boolean(), { description: 'Baseline per permission (change with PATCH /permissions/{key})' }),
  },
  { title: 'AccessSettings' },
);

export const UpdateSettings = Type.Object(
  { strategy: Type.Optional(Strategy), defaultRoleId: Type.Optional(Nullable(Uuid)) },
  { additionalProperties: false, title: 'UpdateAccessSettings' },
);

const RoleSource = Type.Object(
  {
    type: Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('default')]),
    groupId: Type.Optional(Uuid),
    groupDisplayName: Type.Optional(Type.String()),
    mappingId: Type.Optional(Uuid),
    matchedBy: Type.Optional(MatchedBy),
    mappingValue: Type.Optional(Type.String()),
  },
  { description: 'Why the user has the role: assigned directly, through a group mapping, or as the default role' },
);

const ResolvedRole = Type.Object({ roleId: Uuid, roleName: Type.String(), sources: Type.Array(RoleSource) }, { title: 'ResolvedRole' });

export const DecisionRequest = Type.Object(
  {
    users: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: MAX_DECISION_USERS, description: 'Users by id, userName, externalId or email (tried in that order)' }),
    permissions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500, description: 'Permission keys; default every permission of the catalogue' })),
  },
  { additionalProperties: false, title: 'DecisionRequest' },
);

export const DecisionResponse = Type.Object(
  {
    decisions: Type.Array(
      Type.Object({
        user: Type.String({ description: 'As asked' }),
        userId: Nullable(Uuid),
        permission: Type.String(),
        allow: Type.Boolean(),
        decidedBy: Type.String({ description: 'allow or deny (a role), baseline, inactive (deactivated), deleted, unknown_user, ambiguous_user' }),
        roles: Type.Array(ResolvedRole, { description: 'The roles that allow it (when allowed) or deny it, each with how the user has it' }),
        reason: Type.String(),
      }),
    ),
  },
  { title: 'DecisionResponse' },
);

const UserSummary = Type.Object(
  { id: Uuid, userName: Type.String(), displayName: Nullable(Type.String()), email: Nullable(Type.String()), active: Type.Boolean() },
  { title: 'UserSummary' },
);

export const EffectivePermissions = Type.Object(
  {
    user: UserSummary,
    strategy: Strategy,
    usedDefaultRole: Type.Boolean(),
    roles: Type.Array(ResolvedRole),
    groups: Type.Array(Type.Object({ id: Uuid, displayName: Type.String(), externalId: Nullable(Type.String()), mappingIds: Type.Array(Uuid) })),
    permissions: Type.Array(
      Type.Object({
        key: Type.String(),
        value: Type.Boolean(),
        decidedBy: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('baseline'), Type.Literal('inactive'), Type.Literal('deleted')]),
        allowedBy: Type.Array(ResolvedRole),
        deniedBy: Type.Array(ResolvedRole),
        reasons: Type.Array(Type.String()),
      }),
    ),
    granted: Type.Array(Type.String(), { description: 'Keys with value true, sorted' }),
    snapshot: Nullable(Type.Object({ granted: Type.Array(Type.String()), updatedAt: DateTime })),
  },
  { title: 'EffectivePermissions' },
);

export const BatchRequest = Type.Object(
  { userIds: Type.Array(Uuid, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false, title: 'EffectivePermissionsBatchRequest' },
);

export const BatchResponse = Type.Object(
  { results: Type.Array(EffectivePermissions), notFound: Type.Array(Type.String({ description: 'Requested ids that name no user' })) },
  { title: 'EffectivePermissionsBatch' },
);

export const HoldersQuery = Type.Object({
  limit: Defaulted(Type.Integer({ minimum: 1, maximum: MAX_HOLDERS_PAGE, default: DEFAULT_HOLDERS_PAGE })),
  cursor: Type.Optional(Cursor),
  includeTotal: Type.Optional(Type.Boolean({ description: 'Also count every holder (one more index scan)' })),
});

export const HoldersPage = Type.Object(
  {
    permission: Type.String(),
    holders: Type.Array(UserSummary),
    nextCursor: Nullable(Type.String()),
    total: Type.Optional(Type.Integer()),
  },
  { title: 'PermissionHolders' },
);
