// Validation and normalisation of the resource bodies IdPs POST and PUT (RFC 7644 §3.3, §3.5.1),
// driven by the schema definitions in ./schemas. The result is the canonical stored `resource`:
// attribute names in schema case, each extension under its URN key, and never id, meta,
// schemas, password, a User's groups or a Group's members (the server adds or stores those itself).
// The PATCH engine reuses the same per-attribute normalisation, so a patched resource is exactly
// as canonical as a PUT one.

import { isDeepStrictEqual } from 'node:util';
import { ScimError } from './errors.js';
import {
  ENTERPRISE_USER_SCHEMA,
  extensionSchema,
  findByName,
  resourceType,
  schemaOf,
  topLevelAttributes,
  verbatimAttribute,
  type AttributeDef,
  type ResourceTypeRef,
  type SchemaDef,
} from './schemas/index.js';

export type JsonObject = Record<string, unknown>;

/** What the users and groups tables keep in their `resource` column. */
export type StoredResource = JsonObject;

/**
 * POST creates; PUT replaces the resource `id` whose stored state is `current`
 * (RFC 7644 §3.5.1: attributes the client omits are "not asserted", see `active` below).
 */
export type WriteMode = { kind: 'create' } | { kind: 'replace'; id: string; current: StoredResource };

export interface NormalizedGroup {
  resource: StoredResource;
  /** Member user ids in request order, deduplicated. */
  memberIds: string[];
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a User POST/PUT body and returns the resource to store. */
export function normalizeUser(body: unknown, mode: WriteMode, schema: ResourceTypeRef = 'User'): StoredResource {
  const input = requireResourceBody(schema, body, mode);
  return canonicalUser(input, mode.kind === 'replace' ? mode.current : undefined, schema);
}

/** Validates a Group POST/PUT body; members come back as ids because they live in their own table. */
export function normalizeGroup(body: unknown, mode: WriteMode = { kind: 'create' }, schema: ResourceTypeRef = 'Group'): NormalizedGroup {
  const input = requireResourceBody(schema, body, mode);
  const attributes: JsonObject = {};
  let members: unknown;
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'members') members = value;
    else attributes[key] = value;
  }
  return { resource: canonicalGroup(attributes, schema, mode.kind === 'replace' ? mode.current : undefined), memberIds: memberIdsOf(members, 'members') };
}

/**
 * Canonicalises a User held in stored shape (the PATCH engine's output) and enforces the
 * resource-level rules: required attributes, and `active` (RFC 7643 §4.1.1) defaulting to true on
 * create. When a replacement omits `active`, the stored status is kept: RFC 7644 §3.5.1 lets the
 * server treat omitted readWrite attributes as not asserted, and silently (re)activating or
 * deactivating someone because a client left a field out would change their access.
 */
export function canonicalUser(input: JsonObject, current?: StoredResource, schema: ResourceTypeRef = 'User'): StoredResource {
  const resource = canonicalAttributes(schema, input, current);
  if (resource['active'] === undefined) {
    resource['active'] = typeof current?.['active'] === 'boolean' ? current['active'] : true;
  }
  return resource;
}

/** Canonicalises a Group without members (stored shape). */
export function canonicalGroup(input: JsonObject, schema: ResourceTypeRef = 'Group', current?: StoredResource): StoredResource {
  return canonicalAttributes(schema, input, current);
}

/**
 * Turns a `members` value into user ids: `[{value, display?, type?, $ref?}, ...]`, deduplicated.
 * Only Users can be members: nested groups are not supported, so another `type` is refused.
 */
export function memberIdsOf(value: unknown, path: string): string[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw invalidValue(`"${path}" must be an array of {"value": "<user id>"}`);
  const def = membersAttribute();
  const ids = new Set<string>();
  for (const item of value) {
    const member = (normalizeSingle(def, item, path) ?? {}) as JsonObject;
    const id = member['value'];
    if (typeof id !== 'string' || id === '') throw invalidValue(`Each of "${path}" needs a non-empty string "value"`);
    const type = member['type'];
    if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'user')) {
      throw invalidValue(`"${path}" of type ${JSON.stringify(type)} is not supported: group members must be Users`);
    }
    ids.add(id);
  }
  return [...ids];
}

// ---------------------------------------------------------------------------------------------
// Body envelope: object, `schemas`, `id`.

function requireResourceBody(kind: ResourceTypeRef, body: unknown, mode: WriteMode): JsonObject {
  if (!isPlainObject(body)) throw ScimError.of('invalidSyntax', `The request body must be a JSON object (a ${schemaOf(kind).kind} resource)`);
  checkSchemas(kind, body);
  checkId(kind, body, mode);
  return body;
}

/**
 * RFC 7643 §3: `schemas` lists the core schema and any extensions; URNs are compared
 * case-insensitively. A URN this workspace does not know is accepted: Entra lists a vendor URN with
 * no attributes on every group (`http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`),
 * and the attributes of an undeclared extension, if any, go through the workspace's
 * UnknownAttributePolicy like any other unknown attribute. `schemas` itself is not stored: the
 * server lists the schemas a resource has values for.
 */
function checkSchemas(kind: ResourceTypeRef, body: JsonObject): void {
  const schemas = getIgnoringCase(body, 'schemas');
  if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) {
    throw ScimError.of('invalidSyntax', '"schemas" must be an array of schema URNs');
  }
  const core = resourceType(kind).schema;
  if (!(schemas as string[]).some((s) => s.toLowerCase() === core.toLowerCase())) {
    throw ScimError.of('invalidSyntax', `"schemas" must include ${core}`);
  }
}

/**
 * `id` is readOnly (RFC 7643 §3.1): ignored on create, and on PUT accepted only when it repeats the
 * resource's own id (Okta echoes the whole resource back).
 */
function checkId(kind: ResourceTypeRef, body: JsonObject, mode: WriteMode): void {
  const id = getIgnoringCase(body, 'id');
  if (mode.kind === 'replace' && id !== undefined && id !== null && id !== mode.id) {
    throw ScimError.of('mutability', `"id" is readOnly: ${JSON.stringify(id)} does not match the ${schemaOf(kind).kind} being replaced`);
  }
}

// ---------------------------------------------------------------------------------------------
// Attributes.

/** The declared extension a top-level key names (any case), if it is one. */
export function findExtensionUrn(kind: ResourceTypeRef, name: string): string | undefined {
  return extensionSchema(kind, name)?.id;
}

/**
 * Whether a key that no schema declares names a whole extension object rather than one attribute:
 * a schema URN (it has a colon) whose last segment is the resource type, as in Entra's
 * `urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User`.
 */
export function isUndeclaredExtensionKey(kind: ResourceTypeRef, name: string): boolean {
  const colon = name.lastIndexOf(':');
  return colon > 0 && name.slice(colon + 1).toLowerCase() === schemaOf(kind).kind.toLowerCase();
}

/**
 * Whether a client-supplied value for this attribute is dropped instead of stored: readOnly
 * attributes (RFC 7644 §3.5.1 "any values provided SHALL be ignored") and `password`, which the
 * bridge accepts for Okta's sake but never keeps.
 */
export function isIgnoredOnInput(def: AttributeDef): boolean {
  return def.mutability === 'readOnly' || def.mutability === 'writeOnly';
}

/**
 * Attributes no schema defines are kept verbatim here; the workspace's UnknownAttributePolicy is
 * applied afterwards to what the request adds (`current` is the stored resource a PUT or PATCH
 * starts from). Values kept under `store` before a switch to `reject` therefore stay as they are:
 * switching the policy never makes a resource unwritable, and `reject` refuses only new ones.
 */
function canonicalAttributes(kind: ResourceTypeRef, input: JsonObject, current?: StoredResource): StoredResource {
  const resource: StoredResource = {};
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'schemas') continue;
    const extension = extensionSchema(kind, key);
    if (extension !== undefined) {
      setOnce(resource, extension.id, canonicalExtension(extension, value));
      continue;
    }
    const def = findByName(topLevelAttributes(kind), key);
    if (def === undefined) storeVerbatim(resource, key, value);
    else if (!isIgnoredOnInput(def)) setOnce(resource, def.name, normalizeValue(def, value, def.name));
  }
  if (schemaOf(kind).unknownAttributes === 'reject') {
    const added = addedUnknownAttributes(kind, current, resource);
    if (added.length > 0) throw unknownAttributes(kind, added);
  }
  checkRequired(kind, resource);
  return resource;
}

/**
 * Keeps an attribute nobody declared. Keys with a colon are extension URNs (see schemasOf): an
 * object under `urn:…:CustomExt:2.0:User` is that extension's values; a scalar under
 * `urn:…:CustomExt:2.0:User:badge` is one attribute of it, stored as a PATCH to that path would.
 */
function storeVerbatim(resource: StoredResource, key: string, value: unknown): void {
  const colon = key.lastIndexOf(':');
  if (colon < 0 || isPlainObject(value)) return setOnce(resource, key, normalizeValue(verbatimAttribute(key), value, key));
  const urn = key.slice(0, colon);
  const values = isPlainObject(resource[urn]) ? resource[urn] : {};
  setOnce(values, key.slice(colon + 1), normalizeValue(verbatimAttribute(key), value, key));
  if (Object.keys(values).length > 0) resource[urn] = values;
}

function canonicalExtension(schema: SchemaDef, value: unknown): JsonObject | undefined {
  const urn = schema.id;
  if (value === null) return undefined;
  if (!isPlainObject(value)) throw invalidValue(`"${urn}" must be an object of extension attributes`);
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const def = findByName(schema.attributes, key) ?? verbatimAttribute(key);
    if (!isIgnoredOnInput(def)) setOnce(result, def.verbatim ? key : def.name, normalizeValue(def, item, `${urn}:${def.name}`));
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** Unknown attributes whose value `after` holds and `before` did not (see unknownAttributeValues). */
export function addedUnknownAttributes(kind: ResourceTypeRef, before: StoredResource | undefined, after: StoredResource): string[] {
  const previous = before ? unknownAttributeValues(kind, before) : new Map<string, unknown>();
  return [...unknownAttributeValues(kind, after)].filter(([name, value]) => !isDeepStrictEqual(previous.get(name), value)).map(([name]) => name);
}

/** Sets an attribute unless unassigned; the same attribute spelled twice in one object is ambiguous. */
function setOnce(target: JsonObject, name: string, value: unknown): void {
  if (name in target) throw ScimError.of('invalidSyntax', `Attribute "${name}" is given more than once`);
  if (value !== undefined) target[name] = value;
}

/** RFC 7643 §2.2 `required`; an empty string counts as missing for the identifying names. */
function checkRequired(kind: ResourceTypeRef, resource: StoredResource): void {
  const missing = (value: unknown) => value === undefined || value === '';
  for (const def of topLevelAttributes(kind)) {
    if (def.required && missing(resource[def.name])) throw invalidValue(`Attribute "${def.name}" is required`);
  }
  // A required attribute of an extension is required of resources that carry that extension.
  for (const extension of schemaOf(kind).extensions) {
    const values = resource[extension.id];
    if (!isPlainObject(values)) continue;
    for (const def of extension.attributes) {
      if (def.required && missing(values[def.name])) throw invalidValue(`Attribute "${extension.id}:${def.name}" is required`);
    }
  }
}

/**
 * Normalises one attribute value against its definition. Returns undefined for "unassigned":
 * RFC 7643 §2.5 treats null, an empty array and (by extension) an empty complex value as no value.
 */
export function normalizeValue(def: AttributeDef, value: unknown, path: string): unknown {
  if (def.verbatim) return verbatimValue(value, path);
  const coerced = coerceInput(path, value);
  if (coerced === null || coerced === undefined) return undefined;
  if (!def.multiValued) return normalizeSingle(def, coerced, path);
  if (!Array.isArray(coerced)) throw invalidValue(`Attribute "${path}" is multi-valued and must be an array`);
  const items = coerced.map((item) => normalizeSingle(def, item, path)).filter((item) => item !== undefined);
  checkSinglePrimary(items, path);
  return items.length > 0 ? items : undefined;
}

/** Normalises one element of a multi-valued attribute (or a single-valued attribute's value). */
export function normalizeSingle(def: AttributeDef, value: unknown, path: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (def.verbatim) return verbatimValue(value, path);
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value !== 'string') throw wrongType(path, 'a string');
      checkString(value, path, maxLengthOf(def));
      return value;
    case 'boolean':
      return toBoolean(value, path);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(path, 'an integer');
      return value;
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(path, 'a number');
      return value;
    case 'dateTime':
      if (typeof value !== 'string' || !isDateTime(value)) throw wrongType(path, 'an xsd:dateTime string');
      return value;
    case 'complex':
      return normalizeComplex(def, value, path);
  }
}

/** Unknown sub-attributes are kept verbatim; the UnknownAttributePolicy is applied to the whole resource. */
function normalizeComplex(def: AttributeDef, value: unknown, path: string): JsonObject | undefined {
  if (!isPlainObject(value)) throw wrongType(path, 'an object');
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const sub = findByName(def.subAttributes ?? [], key);
    if (sub === undefined) setOnce(result, key, verbatimValue(item, `${path}.${key}`));
    else if (!isIgnoredOnInput(sub)) setOnce(result, sub.name, normalizeValue(sub, item, `${path}.${sub.name}`));
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/**
 * The values a stored resource holds for attributes no schema of its type declares (kept under
 * the `store` policy), by path as a client would send it: `nickname2`, `name.suffix2`,
 * `urn:…:CustomExt:2.0:User:badge`. For reporting what clients send that nobody declared.
 */
export function unknownAttributeValues(kind: ResourceTypeRef, resource: StoredResource): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const subAttributesOf = (def: AttributeDef, value: unknown, path: string) => {
    if (def.type !== 'complex' || !def.subAttributes) return;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!isPlainObject(item)) continue;
      for (const [key, sub] of Object.entries(item)) if (!findByName(def.subAttributes, key)) found.set(`${path}.${key}`, sub);
    }
  };
  for (const [key, value] of Object.entries(resource)) {
    const extension = extensionSchema(kind, key);
    const def = extension ? undefined : findByName(topLevelAttributes(kind), key);
    if (def) {
      subAttributesOf(def, value, def.name);
    } else if (key.includes(':') && isPlainObject(value)) {
      for (const [name, item] of Object.entries(value)) {
        const declared = extension && findByName(extension.attributes, name);
        if (declared) subAttributesOf(declared, item, `${key}:${declared.name}`);
        else found.set(`${key}:${name}`, item);
      }
    } else {
      found.set(key, value);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Strings: what PostgreSQL can store and index, checked here so the database never is the one to refuse.

/** Longest string of an attribute with no limit of its own (RFC 7643 sets none; see AttributeDef.maxLength). */
export const DEFAULT_STRING_MAX_LENGTH = 2048;

export function maxLengthOf(def: AttributeDef): number {
  return def.maxLength ?? (def.type === 'binary' ? 65_536 : DEFAULT_STRING_MAX_LENGTH);
}

// U+0000 cannot be stored in jsonb or text; a lone surrogate is not Unicode and jsonb refuses it.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function checkString(value: string, path: string, maxLength: number): void {
  if (value.length > maxLength) throw invalidValue(`Attribute "${path}" is longer than ${maxLength} characters`);
  if (UNSTORABLE.test(value)) throw invalidValue(`Attribute "${path}" contains a NUL character or an unpaired UTF-16 surrogate`);
}

const VERBATIM_MAX_DEPTH = 8;

/**
 * An attribute no schema defines, kept as sent (`store` policy): any JSON value, with every string
 * and key checked like a declared string and a bounded depth. null and [] are unassigned.
 */
function verbatimValue(value: unknown, path: string, depth = 0): unknown {
  if (depth > VERBATIM_MAX_DEPTH) throw invalidValue(`Attribute "${path}" is nested more than ${VERBATIM_MAX_DEPTH} levels deep`);
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    checkString(value, path, DEFAULT_STRING_MAX_LENGTH);
    return value;
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => verbatimValue(item, path, depth + 1)).filter((item) => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (isPlainObject(value)) {
    const result: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      checkString(key, `${path}.${key}`, 256);
      const kept = verbatimValue(item, `${path}.${key}`, depth + 1);
      if (kept !== undefined) result[key] = kept;
    }
    return result;
  }
  return value;
}

/** Entra ID sends booleans as "True"/"False" strings. */
function toBoolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  throw wrongType(path, 'a boolean');
}

// xsd:dateTime as RFC 7643 §2.3.5 uses it, e.g. 2008-01-23T04:56:22Z.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function isDateTime(value: string): boolean {
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/** RFC 7643 §2.4: "primary" may be true for at most one value of a multi-valued attribute. */
function checkSinglePrimary(items: unknown[], path: string): void {
  const primaries = items.filter((item) => isPlainObject(item) && item['primary'] === true);
  if (primaries.length > 1) throw invalidValue(`Only one value of "${path}" may be primary`);
}

// ---------------------------------------------------------------------------------------------
// Client quirks that are normalised before type checking, keyed by the lower-cased attribute path.

const MANAGER_PATH = `${ENTERPRISE_USER_SCHEMA}:manager`.toLowerCase();

/**
 * The enterprise `manager` is complex (RFC 7643 §4.3), but clients send `{"value":"id"}`, a bare id
 * string, or Entra's `[{"value":"id"}]`. All become `{"value":"id"}`; an empty id clears the manager.
 */
function coerceManager(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length > 1) throw invalidValue(`"${ENTERPRISE_USER_SCHEMA}:manager" takes a single manager`);
    value = value[0];
  }
  if (typeof value === 'string') value = { value };
  if (isPlainObject(value) && (value['value'] === '' || value['value'] === null)) return undefined;
  return value;
}

const INPUT_COERCIONS: Record<string, (value: unknown) => unknown> = { [MANAGER_PATH]: coerceManager };

function coerceInput(path: string, value: unknown): unknown {
  const coerce = INPUT_COERCIONS[path.toLowerCase()];
  return coerce === undefined ? value : coerce(value);
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared with the PATCH engine.

export function getIgnoringCase(object: JsonObject, name: string): unknown {
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

function membersAttribute(): AttributeDef {
  return findByName(topLevelAttributes('Group'), 'members')!;
}


export function invalidValue(detail: string): ScimError {
  return ScimError.of('invalidValue', detail);
}

function wrongType(path: string, expected: string): ScimError {
  return invalidValue(`Attribute "${path}" must be ${expected}`);
}

function unknownAttributes(kind: ResourceTypeRef, names: string[]): ScimError {
  const list = names.map((n) => JSON.stringify(n)).join(', ');
  const of = ` for a ${schemaOf(kind).kind}`;
  return ScimError.of('invalidValue', `Unknown attribute${names.length > 1 ? 's' : ''}${of} (this workspace refuses attributes no schema declares): ${list}`);
}
