import { ScimError } from '../errors.js';
import { COMMON_ATTRIBUTES } from './common.js';
import { enterpriseUserSchema } from './enterprise-user.js';
import { groupSchema } from './group.js';
import { attr, type AttributeDef, type ResourceTypeDef, type SchemaDef } from './types.js';
import { userSchema } from './user.js';

export * from './types.js';
export * from './urns.js';
export { COMMON_ATTRIBUTES };

/** The schemas every workspace has; workspaces may declare extension schemas of their own. */
export const BUILTIN_SCHEMAS: readonly SchemaDef[] = [userSchema, enterpriseUserSchema, groupSchema];

export type ResourceKind = 'User' | 'Group';

/**
 * What a client may send for an attribute no schema defines, or an extension URN nobody declared:
 * `store` keeps it verbatim (returned, never filterable), `reject` answers 400 invalidValue.
 */
export type UnknownAttributePolicy = 'store' | 'reject';

/** One resource type as a workspace sees it: its core schema plus the extensions it accepts. */
export interface ResourceSchema {
  kind: ResourceKind;
  core: SchemaDef;
  extensions: readonly SchemaDef[];
  unknownAttributes: UnknownAttributePolicy;
}

/**
 * Pure code takes either a full ResourceSchema (what services pass, from the workspace's
 * declarations and setting) or just a kind, which means the built-in schemas with unknown
 * attributes refused: the strict reading of RFC 7643, used where no workspace is involved.
 */
export type ResourceTypeRef = ResourceKind | ResourceSchema;

const BUILTIN: Record<ResourceKind, ResourceSchema> = {
  User: { kind: 'User', core: userSchema, extensions: [enterpriseUserSchema], unknownAttributes: 'reject' },
  Group: { kind: 'Group', core: groupSchema, extensions: [], unknownAttributes: 'reject' },
};

export function schemaOf(ref: ResourceTypeRef): ResourceSchema {
  return typeof ref === 'string' ? BUILTIN[ref] : ref;
}

/** A kind's schema with workspace-declared extensions added after the built-in ones. */
export function withExtensions(kind: ResourceKind, declared: readonly SchemaDef[], unknownAttributes: UnknownAttributePolicy): ResourceSchema {
  const builtin = BUILTIN[kind];
  return { kind, core: builtin.core, extensions: [...builtin.extensions, ...declared], unknownAttributes };
}

const ENDPOINTS: Record<ResourceKind, Omit<ResourceTypeDef, 'schema' | 'schemaExtensions'>> = {
  User: { id: 'User', name: 'User', endpoint: '/Users', description: 'User Account' },
  Group: { id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group' },
};

/** The RFC 7643 §6 ResourceType of a kind as the workspace sees it. */
export function resourceType(ref: ResourceTypeRef): ResourceTypeDef {
  const schema = schemaOf(ref);
  return { ...ENDPOINTS[schema.kind], schema: schema.core.id, schemaExtensions: schema.extensions.map((e) => ({ schema: e.id, required: false })) };
}

export function schemaById(schemas: readonly SchemaDef[], urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return schemas.find((s) => s.id.toLowerCase() === lower);
}

/** The extension schema of this URN (any case) that the resource type accepts. */
export function extensionSchema(ref: ResourceTypeRef, urn: string): SchemaDef | undefined {
  return schemaById(schemaOf(ref).extensions, urn);
}

/** Attribute definitions at the top level of a resource (common + core schema). */
const topLevelLists = new WeakMap<ResourceSchema, AttributeDef[]>();

/** The common and core attributes of a kind: one list per schema (callers must not change it). */
export function topLevelAttributes(ref: ResourceTypeRef): AttributeDef[] {
  const schema = schemaOf(ref);
  let list = topLevelLists.get(schema);
  if (!list) topLevelLists.set(schema, (list = [...COMMON_ATTRIBUTES, ...schema.core.attributes]));
  return list;
}

/** A resolved attribute reference: which schema it lives in and its definition chain. */
export interface ResolvedAttribute {
  /** The schema URN for extension attributes, undefined for core and common attributes. */
  extension?: string;
  /** Top-level attribute definition. */
  attribute: AttributeDef;
  /** Sub-attribute definition when the path names one (`name.givenName`, `emails.value`). */
  subAttribute?: AttributeDef;
}

/** An attribute no schema defines, kept as sent (see UnknownAttributePolicy). */
export function verbatimAttribute(name: string): AttributeDef {
  return { ...attr(name, 'complex'), verbatim: true };
}

/**
 * Resolves an attribute path such as `userName`, `name.givenName`, `emails.value`,
 * `urn:ietf:params:scim:schemas:core:2.0:User:name.familyName` or
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
 * Attribute names are case-insensitive (RFC 7643 §2.1).
 *
 * An unqualified name that neither the common attributes nor the core schema define is looked up
 * in the extensions: Entra sends `manager` and `employeeNumber` bare. Core wins over an extension
 * (RFC 7644 §3.10 reads unqualified names as core attributes); a name two extensions define is
 * ambiguous, 400 invalidPath naming both.
 *
 * Unknown names are undefined, or under the `store` policy a verbatim attribute: URN-qualified
 * ones (`urn:…:CustomExt:2.0:User:badge`) inside the extension object of that URN.
 */
export function resolveAttribute(ref: ResourceTypeRef, path: string): ResolvedAttribute | undefined {
  const schema = schemaOf(ref);
  const lowerPath = path.toLowerCase();
  const qualified = [schema.core, ...schema.extensions].find((s) => lowerPath.startsWith(s.id.toLowerCase() + ':'));
  if (qualified === undefined && path.includes(':')) {
    // An extension URN nobody declared, e.g. urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User:badge
    // (attribute names have no colon, so the URN ends at the last one).
    const colon = path.lastIndexOf(':');
    const [attrTop, attrSub, ...more] = path.slice(colon + 1).split('.');
    if (!attrTop || more.length > 0) return undefined;
    return unknownAttribute(schema, path.slice(0, colon), attrTop, attrSub);
  }
  const rest = qualified ? path.slice(qualified.id.length + 1) : path;
  const [top, sub, ...extra] = rest.split('.');
  if (!top || extra.length > 0) return undefined;

  const inSchema = (attrs: readonly AttributeDef[], extension?: string): ResolvedAttribute | 'absent' | undefined => {
    const attribute = findByName(attrs, top);
    if (!attribute) return 'absent';
    if (sub === undefined) return { extension, attribute };
    const subAttribute = findByName(attribute.subAttributes ?? [], sub);
    return subAttribute ? { extension, attribute, subAttribute } : undefined;
  };

  if (qualified && qualified !== schema.core) {
    const found = inSchema(qualified.attributes, qualified.id);
    return found === 'absent' ? unknownAttribute(schema, qualified.id, top, sub) : found;
  }
  const core = inSchema(topLevelAttributes(schema));
  if (core !== 'absent') return core;
  if (qualified === undefined) {
    const owners = schema.extensions.filter((e) => findByName(e.attributes, top) !== undefined);
    if (owners.length > 1) {
      throw ScimError.of('invalidPath', `Attribute ${JSON.stringify(top)} is ambiguous: it is defined by ${owners.map((o) => o.id).join(' and ')}; qualify it with its schema URN`);
    }
    if (owners.length === 1) {
      const found = inSchema(owners[0]!.attributes, owners[0]!.id);
      return found === 'absent' ? undefined : found;
    }
  }
  return unknownAttribute(schema, undefined, top, sub);
}

function unknownAttribute(schema: ResourceSchema, extension: string | undefined, top: string, sub: string | undefined): ResolvedAttribute | undefined {
  // Sub-paths of a verbatim value are not addressed: the value is kept and replaced whole.
  if (schema.unknownAttributes !== 'store' || sub !== undefined) return undefined;
  return { extension, attribute: verbatimAttribute(top) };
}

// Attribute lists are built once per schema and never change: each gets a name index on first
// lookup. Projection looks up every key of every resource it serves (100 users: thousands).
const nameIndexes = new WeakMap<readonly AttributeDef[], Map<string, AttributeDef>>();

export function findByName(attrs: readonly AttributeDef[], name: string): AttributeDef | undefined {
  let index = nameIndexes.get(attrs);
  if (!index) {
    index = new Map();
    // The first definition of a name wins, as Array.find did.
    for (const a of attrs) if (!index.has(a.name.toLowerCase())) index.set(a.name.toLowerCase(), a);
    nameIndexes.set(attrs, index);
  }
  return index.get(name.toLowerCase());
}
