// Extension schemas that a workspace declares (RFC 7643 §3.3 extensions, attributes as in §7).
// `Declaration` is the shape the admin API and the CLI check; declarationProblems() checks what a
// shape cannot: names, duplicates, where sub-attributes may appear, URNs that belong to the server.

import { Type, type Static } from 'typebox';
import { attr, type AttributeDef, type SchemaDef } from './types.js';
import { BUILTIN_SCHEMAS } from './index.js';
import { GROUP_SCHEMA, USER_SCHEMA } from './urns.js';

export const Literals = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

const characteristics = {
  type: Literals(['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary', 'complex'] as const),
  multiValued: Type.Optional(Type.Boolean({ default: false })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  required: Type.Optional(Type.Boolean({ default: false })),
  caseExact: Type.Optional(Type.Boolean({ default: false })),
  mutability: Type.Optional(Literals(['readWrite', 'immutable', 'readOnly', 'writeOnly'] as const)),
  returned: Type.Optional(Literals(['default', 'always', 'request', 'never'] as const)),
  uniqueness: Type.Optional(Literals(['none', 'server', 'global'] as const, 'server and global: no two resources of the workspace hold the same value (compared as caseExact says)')),
  canonicalValues: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })),
  referenceTypes: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10 })),
};
const name = Type.String({ minLength: 1, maxLength: 64, description: 'RFC 7643 §2.1 attribute name: a letter, then letters, digits, "-" or "_"' });

const SubAttribute = Type.Object({ name, ...characteristics }, { additionalProperties: false, title: 'ScimSubAttributeDeclaration' });
export const Attribute = Type.Object(
  { name, ...characteristics, subAttributes: Type.Optional(Type.Array(SubAttribute, { minItems: 1, maxItems: 50 })) },
  { additionalProperties: false, title: 'ScimAttributeDeclaration' },
);
export const ResourceTypes = Type.Array(Literals(['User', 'Group'] as const), { minItems: 1, maxItems: 2 });

export const Declaration = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'A short name, e.g. CustomExt' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    resourceTypes: ResourceTypes,
    attributes: Type.Array(Attribute, { maxItems: 200 }),
  },
  { additionalProperties: false, title: 'ScimExtensionDeclaration' },
);

export type AttributeDeclaration = Static<typeof Attribute> & { subAttributes?: Static<typeof SubAttribute>[] };
export type ExtensionDeclaration = Static<typeof Declaration> & { urn: string };

/** A declaration problem: where (a JSON pointer into the declaration) and what. */
export interface DeclarationProblem {
  pointer: string;
  message: string;
}

// RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
// A schema URI (RFC 7643 §3): Entra's `urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`,
// Okta's custom URNs, or a vendor URL. No whitespace, no `.` after the last colon (that would read
// as an attribute path).
const SCHEMA_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s"[\]]+$/;

/** Problems with a declaration; empty when it can be stored. */
export function declarationProblems(declaration: ExtensionDeclaration): DeclarationProblem[] {
  const problems: DeclarationProblem[] = [];
  const { urn } = declaration;
  if (!SCHEMA_URI.test(urn) || urn.length > 256) {
    problems.push({ pointer: '/urn', message: 'must be a schema URI such as urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User (at most 256 characters, no spaces)' });
  } else if ([...BUILTIN_SCHEMAS.map((s) => s.id), USER_SCHEMA, GROUP_SCHEMA].some((id) => id.toLowerCase() === urn.toLowerCase())) {
    problems.push({ pointer: '/urn', message: `${urn} is a built-in schema and cannot be redeclared` });
  } else if (urn.slice(urn.lastIndexOf(':') + 1).includes('.')) {
    problems.push({ pointer: '/urn', message: 'the part after the last colon must not contain "." (it would read as an attribute path)' });
  }
  if (new Set(declaration.resourceTypes).size !== declaration.resourceTypes.length || declaration.resourceTypes.length === 0) {
    problems.push({ pointer: '/resourceTypes', message: 'list User, Group or both, once each' });
  }
  checkAttributes(declaration.attributes, '/attributes', true, problems);
  return problems;
}

function checkAttributes(attributes: AttributeDeclaration[], pointer: string, topLevel: boolean, problems: DeclarationProblem[]): void {
  const seen = new Set<string>();
  attributes.forEach((a, index) => {
    const at = `${pointer}/${index}`;
    if (!ATTRIBUTE_NAME.test(a.name)) problems.push({ pointer: `${at}/name`, message: 'must start with a letter and hold only letters, digits, "-" and "_" (at most 64)' });
    if (seen.has(a.name.toLowerCase())) problems.push({ pointer: `${at}/name`, message: `"${a.name}" is declared twice (names are case-insensitive)` });
    seen.add(a.name.toLowerCase());
    if (a.type === 'complex') {
      // RFC 7643 §2.3.8: a complex attribute's sub-attributes are not complex themselves.
      if (!topLevel) problems.push({ pointer: `${at}/type`, message: 'a sub-attribute cannot be complex (RFC 7643 §2.3.8)' });
      else if (!a.subAttributes || a.subAttributes.length === 0) problems.push({ pointer: `${at}/subAttributes`, message: 'a complex attribute needs sub-attributes' });
      else checkAttributes(a.subAttributes, `${at}/subAttributes`, false, problems);
    } else if (a.subAttributes !== undefined) {
      problems.push({ pointer: `${at}/subAttributes`, message: `only complex attributes have sub-attributes ("${a.name}" is ${a.type})` });
    }
    // Uniqueness is enforced per workspace (server and global alike: one workspace is the service
    // provider an IdP sees) on single values; among array items or sub-attributes it would be
    // ambiguous what is unique.
    if (a.uniqueness !== undefined && a.uniqueness !== 'none' && (!topLevel || a.multiValued || a.type === 'complex' || a.type === 'boolean')) {
      problems.push({ pointer: `${at}/uniqueness`, message: 'uniqueness applies to single-valued, non-boolean top-level attributes only' });
    }
    if (a.referenceTypes !== undefined && a.type !== 'reference') problems.push({ pointer: `${at}/referenceTypes`, message: 'only reference attributes have referenceTypes' });
  });
}

/** The schema served from /Schemas and enforced on input, from a validated declaration. */
export function toSchemaDef(declaration: Pick<ExtensionDeclaration, 'urn' | 'name' | 'description' | 'attributes'>): SchemaDef {
  return {
    id: declaration.urn,
    name: declaration.name,
    description: declaration.description ?? '',
    attributes: declaration.attributes.map(toAttributeDef),
  };
}

function toAttributeDef(a: AttributeDeclaration): AttributeDef {
  const { name, type, subAttributes, ...characteristics } = a;
  const def = attr(name, type, Object.fromEntries(Object.entries(characteristics).filter(([, v]) => v !== undefined)));
  if (subAttributes !== undefined) def.subAttributes = subAttributes.map(toAttributeDef);
  return def;
}
