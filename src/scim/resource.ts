// Validation and normalisation of the resource bodies IdPs POST and PUT (RFC 7644 §3.3, §3.5.1),
// driven by the schema definitions in ./schemas. The result is the canonical stored `resource`:
// attribute names in schema case, the enterprise extension under its URN key, and never id, meta,
// schemas, password, a User's groups or a Group's members (the server adds or stores those itself).
// The PATCH engine reuses the same per-attribute normalisation, so a patched resource is exactly
// as canonical as a PUT one.

import { ScimError } from './errors.js';
import {
  COMMON_ATTRIBUTES,
  ENTERPRISE_USER_SCHEMA,
  allowedSchemas,
  findByName,
  resourceType,
  schemaById,
  type AttributeDef,
  type ResourceKind,
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
export function normalizeUser(body: unknown, mode: WriteMode): StoredResource {
  const input = requireResourceBody('User', body, mode);
  return canonicalUser(input, mode.kind === 'replace' ? mode.current : undefined);
}

/** Validates a Group POST/PUT body; members come back as ids because they live in their own table. */
export function normalizeGroup(body: unknown, mode: WriteMode = { kind: 'create' }): NormalizedGroup {
  const input = requireResourceBody('Group', body, mode);
  const attributes: JsonObject = {};
  let members: unknown;
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'members') members = value;
    else attributes[key] = value;
  }
  return { resource: canonicalGroup(attributes), memberIds: memberIdsOf(members, 'members') };
}

/**
 * Canonicalises a User held in stored shape (the PATCH engine's output) and enforces the
 * resource-level rules: required attributes, and `active` (RFC 7643 §4.1.1) defaulting to true on
 * create. When a replacement omits `active`, the stored status is kept: RFC 7644 §3.5.1 lets the
 * server treat omitted readWrite attributes as not asserted, and silently (re)activating or
 * deactivating someone because a client left a field out would change their access.
 */
export function canonicalUser(input: JsonObject, current?: StoredResource): StoredResource {
  const resource = canonicalAttributes('User', input);
  if (resource['active'] === undefined) {
    resource['active'] = typeof current?.['active'] === 'boolean' ? current['active'] : true;
  }
  return resource;
}

/** Canonicalises a Group without members (stored shape). */
export function canonicalGroup(input: JsonObject): StoredResource {
  return canonicalAttributes('Group', input);
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
    if (type !== undefined && String(type).toLowerCase() !== 'user') {
      throw invalidValue(`"${path}" of type ${JSON.stringify(type)} is not supported: group members must be Users`);
    }
    ids.add(id);
  }
  return [...ids];
}

// ---------------------------------------------------------------------------------------------
// Body envelope: object, `schemas`, `id`.

function requireResourceBody(kind: ResourceKind, body: unknown, mode: WriteMode): JsonObject {
  if (!isPlainObject(body)) throw ScimError.of('invalidSyntax', `The request body must be a JSON object (a ${kind} resource)`);
  checkSchemas(kind, body);
  checkId(kind, body, mode);
  return body;
}

/** RFC 7643 §3: `schemas` lists the core schema and any extensions; URNs are compared case-insensitively. */
function checkSchemas(kind: ResourceKind, body: JsonObject): void {
  const schemas = getIgnoringCase(body, 'schemas');
  if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) {
    throw ScimError.of('invalidSyntax', '"schemas" must be an array of schema URNs');
  }
  const allowed = allowedSchemas(kind).map((s) => s.toLowerCase());
  const unknown = (schemas as string[]).filter((s) => !allowed.includes(s.toLowerCase()));
  if (unknown.length > 0) {
    throw invalidValue(`Unknown schema${unknown.length > 1 ? 's' : ''} for a ${kind}: ${unknown.map((s) => JSON.stringify(s)).join(', ')}`);
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
function checkId(kind: ResourceKind, body: JsonObject, mode: WriteMode): void {
  const id = getIgnoringCase(body, 'id');
  if (mode.kind === 'replace' && id !== undefined && id !== null && id !== mode.id) {
    throw ScimError.of('mutability', `"id" is readOnly: ${JSON.stringify(id)} does not match the ${kind} being replaced`);
  }
}

// ---------------------------------------------------------------------------------------------
// Attributes.

/** Attribute definitions at the top level of a resource (common + core schema). */
export function topLevelAttributes(kind: ResourceKind): AttributeDef[] {
  return [...COMMON_ATTRIBUTES, ...schemaById(resourceType(kind).schema)!.attributes];
}

/** The extension URNs of a resource kind (RFC 7643 §3.3). */
export function extensionUrns(kind: ResourceKind): string[] {
  return resourceType(kind).schemaExtensions.map((e) => e.schema);
}

export function findExtensionUrn(kind: ResourceKind, name: string): string | undefined {
  const lower = name.toLowerCase();
  return extensionUrns(kind).find((urn) => urn.toLowerCase() === lower);
}

/**
 * Whether a client-supplied value for this attribute is dropped instead of stored: readOnly
 * attributes (RFC 7644 §3.5.1 "any values provided SHALL be ignored") and `password`, which the
 * bridge accepts for Okta's sake but never keeps.
 */
export function isIgnoredOnInput(def: AttributeDef): boolean {
  return def.mutability === 'readOnly' || def.mutability === 'writeOnly';
}

function canonicalAttributes(kind: ResourceKind, input: JsonObject): StoredResource {
  const resource: StoredResource = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'schemas') continue;
    const urn = findExtensionUrn(kind, key);
    if (urn !== undefined) {
      setOnce(resource, urn, canonicalExtension(urn, value, unknown));
      continue;
    }
    const def = findByName(topLevelAttributes(kind), key);
    if (def === undefined) unknown.push(key);
    else if (!isIgnoredOnInput(def)) setOnce(resource, def.name, normalizeValue(def, value, def.name));
  }
  if (unknown.length > 0) throw unknownAttributes(kind, unknown);
  checkRequired(kind, resource);
  return resource;
}

function canonicalExtension(urn: string, value: unknown, unknown: string[]): JsonObject | undefined {
  if (value === null) return undefined;
  if (!isPlainObject(value)) throw invalidValue(`"${urn}" must be an object of extension attributes`);
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const def = findByName(schemaById(urn)!.attributes, key);
    if (def === undefined) unknown.push(`${urn}:${key}`);
    else if (!isIgnoredOnInput(def)) setOnce(result, def.name, normalizeValue(def, item, `${urn}:${def.name}`));
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** Sets an attribute unless unassigned; the same attribute spelled twice in one object is ambiguous. */
function setOnce(target: JsonObject, name: string, value: unknown): void {
  if (name in target) throw ScimError.of('invalidSyntax', `Attribute "${name}" is given more than once`);
  if (value !== undefined) target[name] = value;
}

/** RFC 7643 §2.2 `required`; an empty string counts as missing for the identifying names. */
function checkRequired(kind: ResourceKind, resource: StoredResource): void {
  for (const def of topLevelAttributes(kind)) {
    if (!def.required) continue;
    const value = resource[def.name];
    if (value === undefined || value === '') throw invalidValue(`Attribute "${def.name}" is required`);
  }
}

/**
 * Normalises one attribute value against its definition. Returns undefined for "unassigned":
 * RFC 7643 §2.5 treats null, an empty array and (by extension) an empty complex value as no value.
 */
export function normalizeValue(def: AttributeDef, value: unknown, path: string): unknown {
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
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value !== 'string') throw wrongType(path, 'a string');
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

function normalizeComplex(def: AttributeDef, value: unknown, path: string): JsonObject | undefined {
  if (!isPlainObject(value)) throw wrongType(path, 'an object');
  const result: JsonObject = {};
  const unknown: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const sub = findByName(def.subAttributes ?? [], key);
    if (sub === undefined) unknown.push(`${path}.${key}`);
    else if (!isIgnoredOnInput(sub)) setOnce(result, sub.name, normalizeValue(sub, item, `${path}.${sub.name}`));
  }
  if (unknown.length > 0) throw unknownAttributes(undefined, unknown);
  return Object.keys(result).length > 0 ? result : undefined;
}

/** Entra ID sends booleans as "True"/"False" strings (DOMAIN.md §3). */
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

function unknownAttributes(kind: ResourceKind | undefined, names: string[]): ScimError {
  const list = names.map((n) => JSON.stringify(n)).join(', ');
  return ScimError.of('invalidSyntax', `Unknown attribute${names.length > 1 ? 's' : ''}${kind ? ` for a ${kind}` : ''}: ${list}`);
}
