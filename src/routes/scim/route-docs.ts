import { errorJsonSchema, listResponseJsonSchema, patchOpJsonSchema, resourceJsonSchema } from '../../scim/schemas/json-schema.js';
import type { ResourceKind } from '../../scim/schemas/index.js';

// What the OpenAPI document says of the SCIM resource endpoints: the real bodies (generated from
// the attribute definitions), `application/scim+json`, and the statuses the routes answer. The
// routes themselves accept any JSON object and leave validation to the schema-driven normaliser,
// so these schemas are added to the document only (the swagger transform), never compiled.

/** The shared schemas the documented bodies refer to by $id. */
export const SCIM_DOC_SCHEMAS = [resourceJsonSchema('User'), resourceJsonSchema('Group'), listResponseJsonSchema('User'), listResponseJsonSchema('Group'), patchOpJsonSchema, errorJsonSchema];

const SCIM_TYPES = ['application/scim+json', 'application/json'];
const scim = (description: string, schema?: object) => ({ description, ...(schema ? { content: Object.fromEntries(SCIM_TYPES.map((type) => [type, { schema }])) } : {}) });
const ERROR = { $ref: 'ScimError#' };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      code,
      scim(
        {
          400: 'invalidSyntax, invalidValue, invalidFilter, invalidPath, mutability, noTarget or tooMany',
          401: 'No or a wrong bearer token',
          404: 'No such resource in this workspace',
          409: 'uniqueness: the userName, externalId or displayName is taken',
          412: 'If-Match names another version',
          429: 'Rate limited (Retry-After)',
        }[code] ?? '',
        ERROR,
      ),
    ]),
  );

type RouteSchema = Record<string, unknown>;

/** The documented schema of a SCIM resource route; other routes' schemas unchanged. */
export function documentScimRoute(url: string, method: string, schema: RouteSchema): RouteSchema {
  const match = /^\/scim\/v2\/(Users|Groups)(\/:id|\/\.search)?\/?$/.exec(url);
  if (!match) return schema;
  const kind: ResourceKind = match[1] === 'Users' ? 'User' : 'Group';
  const one = { $ref: `Scim${kind}#` };
  const list = { $ref: `Scim${kind}ListResponse#` };
  const body = (s: object) => ({ content: Object.fromEntries(SCIM_TYPES.map((type) => [type, { schema: s }])) });
  const { body: _lenient, ...rest } = schema;
  const target = match[2];
  switch (`${method} ${target ?? ''}`) {
    case 'GET ':
      return { ...rest, response: { 200: scim('A ListResponse page', list), ...errors(400, 401, 429) } };
    case 'POST /.search':
      return { ...rest, body: body({ type: 'object', description: 'A SearchRequest (RFC 7644 §3.4.3): filter, startIndex, count, attributes, excludedAttributes' }), response: { 200: scim('A ListResponse page', list), ...errors(400, 401, 429) } };
    case 'POST ':
      return { ...rest, body: body(one), response: { 201: scim(`The created ${kind}, with Location and ETag`, one), ...errors(400, 401, 409, 429) } };
    case 'GET /:id':
      return { ...rest, response: { 200: scim(`The ${kind}, with ETag`, one), ...errors(400, 401, 404, 429) } };
    case 'PUT /:id':
      return { ...rest, body: body(one), response: { 200: scim(`The replaced ${kind}`, one), ...errors(400, 401, 404, 409, 412, 429) } };
    case 'PATCH /:id':
      return {
        ...rest,
        body: body({ $ref: 'ScimPatchOp#' }),
        response: {
          200: scim(`The modified ${kind}`, one),
          ...(kind === 'Group' ? { 204: scim('Modified; a large group is not sent back unless attributes or excludedAttributes ask for it') } : {}),
          ...errors(400, 401, 404, 409, 412, 429),
        },
      };
    case 'DELETE /:id':
      return { ...rest, response: { 204: scim('Deleted'), ...errors(401, 404, 412, 429) } };
    default:
      return schema;
  }
}
