import { Type, type TSchema } from '@fastify/type-provider-typebox';

// TypeBox schemas shared by the admin routes: they validate requests, type the handlers and
// generate the OpenAPI document. `Type` comes from the type provider's own TypeBox
// (typebox 1.x), the one its type inference understands.

/** RFC 9457 problem details, plus the members the first version of the API answered with. */
export const ErrorBody = Type.Object(
  {
    type: Type.String({ description: 'RFC 9457 problem type; about:blank: the status says it all' }),
    title: Type.String({ description: 'HTTP reason phrase, e.g. Bad Request' }),
    status: Type.Integer({ description: 'HTTP status, repeated' }),
    detail: Type.String({ description: 'What was wrong, for people' }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: 'RFC 6901 JSON pointer into the request, e.g. /permissions/codex_local' }),
          detail: Type.String(),
          line: Type.Optional(Type.Integer({ description: "For a document in the request (a policy's TOML): the line" })),
          key: Type.Optional(Type.String({ description: 'and the key there' })),
        }),
        { description: 'Every problem found in the request' },
      ),
    ),
    statusCode: Type.Integer({ description: 'Deprecated: status' }),
    error: Type.String({ description: 'Deprecated: title' }),
    message: Type.String({ description: 'Deprecated: detail' }),
    field: Type.Optional(Type.String({ description: 'Deprecated: the first problem as a dotted path, e.g. permissions.codex_local' })),
  },
  { $id: 'AdminError', title: 'AdminError' },
);

const errorRef = Type.Ref('AdminError');

/** The error responses every admin route can return, plus the ones it names. */
export function errors(...statuses: Array<400 | 404 | 409 | 413 | 415>): Record<number, TSchema> {
  const out: Record<number, TSchema> = {
    401: Type.Ref('AdminError', { description: 'Missing, malformed, expired, revoked or foreign token' }),
    403: Type.Ref('AdminError', { description: "The caller's admin role does not allow this" }),
  };
  for (const status of statuses) out[status] = errorRef;
  return out;
}

export const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size' });
export const Cursor = Type.String({ maxLength: 2000, description: 'nextCursor of the previous page' });

export function Page<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
    },
    { title },
  );
}

export const Uuid = Type.String({ format: 'uuid' });

/** A name people read: not blank, no leading or trailing white space, no control characters. */
export const NAME_PATTERN = '^[^\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$';
/** Free text that names something (an IdP group): no control characters. */
export const NO_CONTROL_PATTERN = '^[^\\u0000-\\u001f\\u007f]*$';
export const Name = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: NAME_PATTERN, description: 'No leading or trailing spaces, no control characters' });
export const Timestamp = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const GroupRefParam = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'The group: its id, its externalId or its displayName',
});

export const UserRef = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'The user: its id, its userName, or one of its emails',
});

export const AdminUser = Type.Object(
  {
    id: Uuid,
    userName: Type.String(),
    externalId: Nullable(Type.String()),
    displayName: Nullable(Type.String()),
    givenName: Nullable(Type.String()),
    familyName: Nullable(Type.String()),
    emails: Type.Array(Type.Object({ value: Type.String(), type: Type.Optional(Type.String()), primary: Type.Optional(Type.Boolean()) })),
    active: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'AdminUser' },
);

export const GroupRef = Type.Object(
  { id: Uuid, displayName: Type.String(), externalId: Nullable(Type.String()) },
  { title: 'AdminGroupRef' },
);

export const AdminGroup = Type.Object(
  {
    id: Uuid,
    displayName: Type.String(),
    externalId: Nullable(Type.String()),
    memberCount: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'AdminGroup' },
);

export const GroupMember = Type.Object(
  { id: Uuid, userName: Type.String(), displayName: Nullable(Type.String()), active: Type.Boolean() },
  { title: 'AdminGroupMember' },
);

/** Schemas referenced by $ref, added once to the admin scope (app.addSchema). */
export const SHARED_SCHEMAS: TSchema[] = [ErrorBody];
