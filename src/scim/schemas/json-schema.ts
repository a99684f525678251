import { COMMON_ATTRIBUTES } from './common.js';
import { schemaOf, type ResourceKind } from './index.js';
import type { AttributeDef } from './types.js';
import { ERROR_SCHEMA, LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA } from './urns.js';

// JSON Schemas of the SCIM messages for the OpenAPI document, generated from the same attribute
// definitions that drive validation, filters and projection, so the document cannot drift from
// what the server does. They describe; they do not validate: the schema-driven normaliser does,
// leniently (Entra's "True" strings, Okta's extra attributes), with RFC 7644 errors.

type JsonSchema = Record<string, unknown>;

const SCALAR: Record<Exclude<AttributeDef['type'], 'complex'>, JsonSchema> = {
  string: { type: 'string' },
  boolean: { type: 'boolean' },
  decimal: { type: 'number' },
  integer: { type: 'integer' },
  dateTime: { type: 'string', format: 'date-time' },
  reference: { type: 'string', format: 'uri-reference' },
  binary: { type: 'string', contentEncoding: 'base64' },
};

/**
 * Properties of an object; a `$ref` attribute (RFC 7643 §2.3.7) goes under patternProperties, since
 * tools that resolve references (the OpenAPI generator's among them) read a `$ref` key as one.
 */
function propertiesOf(attributes: readonly AttributeDef[]): JsonSchema {
  const named = attributes.filter((a) => a.name !== '$ref');
  const ref = attributes.find((a) => a.name === '$ref');
  return {
    properties: Object.fromEntries(named.map((a) => [a.name, attributeSchema(a)])),
    ...(ref ? { patternProperties: { '^\\$ref$': attributeSchema(ref) } } : {}),
  };
}

function attributeSchema(def: AttributeDef): JsonSchema {
  const one: JsonSchema =
    def.type === 'complex'
      ? { type: 'object', ...propertiesOf(def.subAttributes ?? []) }
      : { ...SCALAR[def.type], ...(def.canonicalValues ? { examples: def.canonicalValues } : {}), ...(def.maxLength ? { maxLength: def.maxLength } : {}) };
  const described: JsonSchema = def.multiValued ? { type: 'array', items: one } : one;
  const description = [def.description, def.required && def.mutability !== 'readOnly' ? 'Required in POST and PUT bodies.' : ''].filter(Boolean).join(' ');
  if (description) described.description = description;
  if (def.mutability === 'readOnly') described.readOnly = true;
  if (def.mutability === 'writeOnly' || def.returned === 'never') described.writeOnly = true;
  return described;
}

// No `required` list but schemas: one schema serves requests and responses, and a response that
// `attributes` projects may leave out what a POST must send (each such attribute says so).
function objectOf(attributes: readonly AttributeDef[]): JsonSchema {
  return { type: 'object', ...propertiesOf(attributes) };
}

/** A User or Group with its built-in extensions, as /Schemas describes them. */
export function resourceJsonSchema(kind: ResourceKind): JsonSchema {
  const schema = schemaOf(kind);
  const own = objectOf([...COMMON_ATTRIBUTES, ...schema.core.attributes]);
  const properties = own.properties as Record<string, JsonSchema>;
  properties.schemas = { type: 'array', items: { type: 'string' }, description: `Must include ${schema.core.id}` };
  for (const extension of schema.extensions) properties[extension.id] = { ...objectOf(extension.attributes), description: extension.description };
  return {
    $id: `Scim${kind}`,
    title: `SCIM ${kind}`,
    description: `${schema.core.description} (RFC 7643). Extension schemas a workspace declares are listed by GET /Schemas; attributes no schema defines are stored or refused as the workspace's setting says.`,
    ...own,
    required: ['schemas'],
    additionalProperties: true,
  };
}

export const patchOpJsonSchema: JsonSchema = {
  $id: 'ScimPatchOp',
  title: 'SCIM PatchOp',
  description: 'RFC 7644 §3.5.2. op is case-insensitive (Entra sends Add, Replace, Remove); a path may carry a value filter, e.g. members[value eq "…"].',
  type: 'object',
  required: ['schemas', 'Operations'],
  properties: {
    schemas: { type: 'array', items: { const: PATCH_OP_SCHEMA } },
    Operations: {
      type: 'array',
      items: {
        type: 'object',
        required: ['op'],
        properties: {
          op: { type: 'string', examples: ['add', 'replace', 'remove'] },
          path: { type: 'string', description: 'Absent: value is an object of attributes to add or replace' },
          value: {},
        },
      },
    },
  },
};

export function listResponseJsonSchema(kind: ResourceKind): JsonSchema {
  return {
    $id: `Scim${kind}ListResponse`,
    title: `SCIM ListResponse of ${kind}s`,
    type: 'object',
    required: ['schemas', 'totalResults', 'Resources'],
    properties: {
      schemas: { type: 'array', items: { const: LIST_RESPONSE_SCHEMA } },
      totalResults: { type: 'integer' },
      startIndex: { type: 'integer' },
      itemsPerPage: { type: 'integer' },
      Resources: { type: 'array', items: { $ref: `Scim${kind}#` } },
    },
  };
}

export const errorJsonSchema: JsonSchema = {
  $id: 'ScimError',
  title: 'SCIM Error',
  description: 'RFC 7644 §3.12',
  type: 'object',
  required: ['schemas', 'status'],
  properties: {
    schemas: { type: 'array', items: { const: ERROR_SCHEMA } },
    status: { type: 'string', description: 'The HTTP status, as a string' },
    scimType: { type: 'string', examples: ['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'sensitive'] },
    detail: { type: 'string' },
  },
};
