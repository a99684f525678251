// Extension schemas that a workspace declares (RFC 7643 §3.3 extensions, attributes as in §7).
// The shape of a declaration is checked by the admin route's schema; this checks what a shape
// cannot: names, duplicates, where sub-attributes may appear, and URNs that belong to the server.

import { attr, type AttributeDef, type AttributeType, type Mutability, type Returned, type SchemaDef, type Uniqueness } from './types.js';
import { BUILTIN_SCHEMAS, type ResourceKind } from './index.js';
import { GROUP_SCHEMA, USER_SCHEMA } from './urns.js';

export interface AttributeDeclaration {
  name: string;
  type: AttributeType;
  multiValued?: boolean;
  description?: string;
  required?: boolean;
  caseExact?: boolean;
  mutability?: Mutability;
  returned?: Returned;
  uniqueness?: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDeclaration[];
}

export interface ExtensionDeclaration {
  urn: string;
  name: string;
  description?: string;
  resourceTypes: ResourceKind[];
  attributes: AttributeDeclaration[];
}

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
    if (a.uniqueness !== undefined && a.uniqueness !== 'none') {
      problems.push({ pointer: `${at}/uniqueness`, message: 'only "none" is supported for declared attributes: the server does not enforce uniqueness of extension values' });
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
