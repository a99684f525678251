import { COMMON_ATTRIBUTES } from './common.js';
import { enterpriseUserSchema } from './enterprise-user.js';
import { groupSchema } from './group.js';
import type { AttributeDef, ResourceTypeDef, SchemaDef } from './types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './urns.js';
import { userSchema } from './user.js';

export * from './types.js';
export * from './urns.js';
export { COMMON_ATTRIBUTES };

export const SCHEMAS: readonly SchemaDef[] = [userSchema, enterpriseUserSchema, groupSchema];

export const RESOURCE_TYPES: readonly ResourceTypeDef[] = [
  {
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
  },
  { id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group', schema: GROUP_SCHEMA, schemaExtensions: [] },
];

export type ResourceKind = 'User' | 'Group';

export function resourceType(kind: ResourceKind): ResourceTypeDef {
  return RESOURCE_TYPES.find((r) => r.id === kind)!;
}

export function schemaById(urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return SCHEMAS.find((s) => s.id.toLowerCase() === lower);
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

/**
 * Resolves an attribute path such as `userName`, `name.givenName`, `emails.value`,
 * `urn:ietf:params:scim:schemas:core:2.0:User:name.familyName` or
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
 * Attribute names are case-insensitive (RFC 7643 §2.1). Returns undefined for unknown names.
 */
export function resolveAttribute(kind: ResourceKind, path: string): ResolvedAttribute | undefined {
  const type = resourceType(kind);
  let schemaUrn: string | undefined;
  let rest = path;
  const lowerPath = path.toLowerCase();
  for (const urn of [type.schema, ...type.schemaExtensions.map((e) => e.schema)]) {
    const prefix = urn.toLowerCase() + ':';
    if (lowerPath.startsWith(prefix)) {
      schemaUrn = urn;
      rest = path.slice(prefix.length);
      break;
    }
  }
  const [top, sub, ...extra] = rest.split('.');
  if (!top || extra.length > 0) return undefined;

  const candidates: { attrs: AttributeDef[]; extension?: string }[] = [];
  if (schemaUrn === undefined) {
    candidates.push({ attrs: COMMON_ATTRIBUTES }, { attrs: schemaById(type.schema)!.attributes });
  } else if (schemaUrn === type.schema) {
    candidates.push({ attrs: COMMON_ATTRIBUTES }, { attrs: schemaById(type.schema)!.attributes });
  } else {
    candidates.push({ attrs: schemaById(schemaUrn)!.attributes, extension: schemaUrn });
  }
  for (const { attrs, extension } of candidates) {
    const attribute = findByName(attrs, top);
    if (!attribute) continue;
    if (sub === undefined) return { extension, attribute };
    const subAttribute = findByName(attribute.subAttributes ?? [], sub);
    return subAttribute ? { extension, attribute, subAttribute } : undefined;
  }
  return undefined;
}

export function findByName(attrs: readonly AttributeDef[], name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return attrs.find((a) => a.name.toLowerCase() === lower);
}

/** The schema URNs a resource of this kind may declare in `schemas`. */
export function allowedSchemas(kind: ResourceKind): string[] {
  const type = resourceType(kind);
  return [type.schema, ...type.schemaExtensions.map((e) => e.schema)];
}
