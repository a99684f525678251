// Attribute and schema definitions as data, in the shape RFC 7643 §7 serves them from /Schemas.
// Everything protocol-side (filters, PATCH, projection, validation) reads these definitions
// instead of hard-coding attribute names.

export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'reference'
  | 'complex'
  | 'binary';

export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
  /**
   * Longest string value accepted, in UTF-16 code units. Not an RFC 7643 characteristic: /Schemas
   * states it in the description. Identifying names are short enough for their B-tree indexes.
   */
  maxLength?: number;
  /**
   * Not part of any schema: an attribute the client sent that no schema defines, kept verbatim
   * under the workspace's `store` policy. Stored and returned as sent, never filtered or sorted on.
   */
  verbatim?: true;
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

export interface ResourceTypeDef {
  id: string;
  name: string;
  endpoint: string;
  description: string;
  schema: string;
  schemaExtensions: { schema: string; required: boolean }[];
}

type AttrOptions = Partial<Omit<AttributeDef, 'name' | 'type'>>;

/** Builds an attribute with the RFC 7643 §2.2 defaults for anything not given. */
export function attr(name: string, type: AttributeType, options: AttrOptions = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}
