import type { Filter } from 'scim2-parse-filter';
import { parseFilter as parseSyntax, type Token } from 'scim2-parse-filter/lib/src/parser.js';
import { ScimError } from '../errors.js';
import { findByName, resolveAttribute, type AttributeDef, type ResourceTypeRef } from '../schemas/index.js';
import { leafOf, type AttributeRef, type CompareNode, type CompareOperator, type FilterNode } from './ast.js';
import { FilterSyntaxError, tokenize, type PositionedToken } from './tokenizer.js';
import { normalizeDateTime } from './values.js';

/**
 * Parses and validates a SCIM filter (RFC 7644 §3.4.2.2) for Users or Groups.
 * Every failure, syntactic or semantic, is a ScimError `invalidFilter` whose detail says what and where.
 */
export function parseFilter(kind: ResourceTypeRef, text: string): FilterNode {
  return toNode(kind, parseTree(text));
}

/** A parsed PATCH path (RFC 7644 §3.5.2): `attrPath`, or `attrPath[valFilter]` with an optional `.subAttr`. */
export interface ParsedPath {
  attr: AttributeRef;
  /** The value filter; its references are relative to `attr` (see ValuePathNode). */
  filter?: FilterNode;
  /** The sub-attribute after the brackets: `value` in `emails[type eq "work"].value`. */
  subAttribute?: AttributeDef;
}

// attrPath, then optionally "[" anything "]" and a sub-attribute name. Attribute paths never
// contain brackets or quotes, so the first "[" opens the filter and the last "]" closes it.
const PATCH_PATH = /^([^[\]"\s]+)(?:\[(.*)\](?:\.([A-Za-z$_][A-Za-z0-9$_-]*))?)?$/s;

/**
 * Parses a PATCH path. A malformed path or unknown attribute is `invalidPath`; a bad filter
 * inside the brackets is `invalidFilter`, as for query filters.
 */
export function parsePath(kind: ResourceTypeRef, text: string): ParsedPath {
  const match = PATCH_PATH.exec(text.trim());
  if (!match) throw ScimError.of('invalidPath', `Invalid path ${JSON.stringify(text)}`);
  const [, attrPath, filterText, subName] = match as unknown as [string, string, string | undefined, string | undefined];
  const attr = resolveAttributePath(kind, attrPath);
  if (!attr) throw ScimError.of('invalidPath', `Unknown attribute ${JSON.stringify(attrPath)} in path`);
  if (filterText === undefined) return { attr };

  const filter = valueFilter(kind, attr, parseTree(filterText));
  if (subName === undefined) return { attr, filter };
  const subAttribute = findByName(attr.attribute.subAttributes ?? [], subName);
  if (!subAttribute) throw ScimError.of('invalidPath', `Unknown sub-attribute ${JSON.stringify(subName)} of ${attr.path}`);
  return { attr, filter, subAttribute };
}

/**
 * Resolves `userName`, `name.givenName`, `urn:...:enterprise:2.0:User:manager.value` (any case)
 * to the schema definitions, with the canonical spelling as `path`. Undefined when unknown.
 */
export function resolveAttributePath(kind: ResourceTypeRef, text: string): AttributeRef | undefined {
  const resolved = resolveAttribute(kind, text);
  if (!resolved) return undefined;
  const { extension, attribute, subAttribute } = resolved;
  const path = `${extension ? `${extension}:` : ''}${attribute.name}${subAttribute ? `.${subAttribute.name}` : ''}`;
  return { ...resolved, path };
}

// ---------------------------------------------------------------------------------------------
// Syntax: our tokenizer, scim2-parse-filter's precedence parser.

function parseTree(text: string): Filter {
  let tokens: TokenCursor | undefined;
  try {
    tokens = new TokenCursor(tokenize(text));
    const tree = parseSyntax(tokens);
    const rest = tokens.peek();
    if (rest.type !== 'EOT') throw new FilterSyntaxError(`unexpected ${describe(rest)}`, rest.position);
    return tree;
  } catch (error) {
    if (error instanceof FilterSyntaxError || !tokens) throw invalid(error instanceof Error ? error.message : String(error));
    throw invalid(syntaxErrorDetail(error, tokens.lastShifted()));
  }
}

// The package throws plain Errors right after shifting the offending token; its messages
// ("[(EOT)] is not json") are for its authors, so say which token was wrong, where, and what
// would have been expected.
function syntaxErrorDetail(error: unknown, token: PositionedToken): string {
  const message = error instanceof Error ? error.message : '';
  const expected = /expected '(.)'/.exec(message)?.[1];
  let hint = '';
  if (expected) hint = `, expected '${expected}'`;
  else if (message.includes('is not json')) hint = ', expected a comparison value (a quoted string, a number, true, false or null)';
  else if (message.includes('valFilter operator')) hint = ', expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)';
  return `unexpected ${describe(token)} at position ${token.position}${hint}`;
}

/** The TokenList the package's parser consumes, remembering where each token came from. */
class TokenCursor {
  private index = 0;
  constructor(private readonly tokens: PositionedToken[]) {}

  peek(): PositionedToken {
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]!;
  }
  forward(): this {
    this.index++;
    return this;
  }
  shift(): Token {
    const token = this.peek();
    this.forward();
    return token;
  }
  lastShifted(): PositionedToken {
    return this.tokens[Math.min(Math.max(this.index - 1, 0), this.tokens.length - 1)]!;
  }
}

function describe(token: PositionedToken): string {
  if (token.type === 'EOT') return 'end of filter';
  const literal = token.literal.length > 40 ? `${token.literal.slice(0, 40)}...` : token.literal;
  return token.type === 'Quoted' ? literal : JSON.stringify(literal);
}

// ---------------------------------------------------------------------------------------------
// Semantics: resolve every attribute, check every operator and value against the schema.

/** `parent` is set inside `attr[...]`, where names are sub-attributes of that attribute. */
function toNode(kind: ResourceTypeRef, tree: Filter, parent?: AttributeRef): FilterNode {
  switch (tree.op) {
    case 'and':
    case 'or':
      return { op: tree.op, filters: tree.filters.map((f) => toNode(kind, f, parent)) };
    case 'not':
      return { op: 'not', filter: toNode(kind, tree.filter, parent) };
    case '[]': {
      // RFC 7644 §3.4.2.2 ABNF: valFilter contains attrExp and logExp only, no nested valuePath.
      if (parent) throw invalid(`value filters cannot be nested (${tree.attrPath}[...] inside ${parent.path}[...])`);
      const attr = resolveOrThrow(kind, tree.attrPath);
      return valuePathNode(kind, attr, tree.valFilter);
    }
    case 'pr':
      return { op: 'pr', attr: resolveOrThrow(kind, tree.attrPath, parent) };
    default:
      return comparison(tree.op, resolveOrThrow(kind, tree.attrPath, parent), tree.compValue);
  }
}

function valuePathNode(kind: ResourceTypeRef, attr: AttributeRef, tree: Filter): FilterNode {
  const filter = valueFilter(kind, attr, tree);
  // On a singular complex attribute there is one value, so `name[givenName eq "x"]` means exactly
  // `name.givenName eq "x"`: the inner references are already full paths (see subAttributeRef).
  return attr.attribute.multiValued ? { op: 'valuePath', attr, filter } : filter;
}

function valueFilter(kind: ResourceTypeRef, attr: AttributeRef, tree: Filter): FilterNode {
  if (attr.attribute.type !== 'complex' || attr.subAttribute) {
    throw invalid(`${attr.path} has no sub-attributes to filter with [...]`);
  }
  return toNode(kind, tree, attr);
}

function resolveOrThrow(kind: ResourceTypeRef, name: string, parent?: AttributeRef): AttributeRef {
  const attr = parent ? subAttributeRef(parent, name) : resolveAttributePath(kind, name);
  if (!attr) {
    throw invalid(parent ? `unknown sub-attribute ${JSON.stringify(name)} of ${parent.path}` : `unknown attribute ${JSON.stringify(name)}`);
  }
  if (attr.attribute.verbatim) {
    throw invalid(`${JSON.stringify(name)} is not declared by any schema of this workspace; declare an extension schema to filter on it`);
  }
  // Filtering on a never-returned attribute (password) would let a client probe its value.
  if (leafOf(attr).returned === 'never' || attr.attribute.returned === 'never') {
    throw invalid(`${attr.path} cannot be used in a filter`);
  }
  return attr;
}

/** Inside `emails[...]` the path is the bare sub-attribute name; inside `name[...]` the full path. */
function subAttributeRef(parent: AttributeRef, name: string): AttributeRef | undefined {
  const subAttribute = findByName(parent.attribute.subAttributes ?? [], name);
  if (!subAttribute) return undefined;
  const path = parent.attribute.multiValued ? subAttribute.name : `${parent.path}.${subAttribute.name}`;
  return { extension: parent.extension, attribute: parent.attribute, subAttribute, path };
}

type RawValue = string | number | boolean | null;
const SUBSTRING_OPERATORS = new Set<CompareOperator>(['co', 'sw', 'ew']);
const ORDERING_OPERATORS = new Set<CompareOperator>(['gt', 'ge', 'lt', 'le']);

function comparison(op: CompareOperator, target: AttributeRef, value: RawValue): FilterNode {
  const attr = defaultSubAttribute(target);
  const leaf = leafOf(attr);
  if (leaf.type === 'complex') {
    const example = leaf.subAttributes?.[0]?.name ?? 'value';
    throw invalid(`${attr.path} is complex and cannot be compared; compare a sub-attribute such as ${attr.path}.${example}`);
  }
  if (value === null) return nullComparison(op, attr);
  return { op, attr, value: typedValue(op, attr, leaf, value) } satisfies CompareNode;
}

// RFC 7644 §3.4.2.2 itself filters with `emails co "example.com"`: comparing a multi-valued
// complex attribute compares its `value` sub-attribute, the one RFC 7643 §2.4 calls the primary
// value. A singular complex attribute (`name eq "x"`) has no such default and stays an error.
function defaultSubAttribute(attr: AttributeRef): AttributeRef {
  if (attr.subAttribute || !attr.attribute.multiValued) return attr;
  const value = findByName(attr.attribute.subAttributes ?? [], 'value');
  return value ? { ...attr, subAttribute: value, path: `${attr.path}.${value.name}` } : attr;
}

// RFC 7643 §2.5: null and "unassigned" are the same state, so `x eq null` is `not (x pr)` and
// `x ne null` is `x pr`. No other operator has a meaning for null.
function nullComparison(op: CompareOperator, attr: AttributeRef): FilterNode {
  if (op === 'eq') return { op: 'not', filter: { op: 'pr', attr } };
  if (op === 'ne') return { op: 'pr', attr };
  throw invalid(`${op} cannot compare ${attr.path} with null`);
}

/** Checks operator and value against the attribute type (RFC 7644 §3.4.2.2, RFC 7643 §2.3). */
function typedValue(op: CompareOperator, attr: AttributeRef, leaf: AttributeDef, value: string | number | boolean): string | number | boolean {
  const reject = (why: string) => invalid(`${attr.path} ${op} ${JSON.stringify(value)}: ${why}`);
  // co/sw/ew are substring matches, defined only for string values.
  const isString = leaf.type === 'string' || leaf.type === 'reference' || leaf.type === 'binary';
  if (SUBSTRING_OPERATORS.has(op) && !isString) throw reject(`${op} applies to string attributes, ${attr.path} is ${leaf.type}`);
  // "Boolean and Binary attributes SHALL cause a failed response ... invalidFilter" for gt/ge/lt/le.
  if (ORDERING_OPERATORS.has(op) && (leaf.type === 'boolean' || leaf.type === 'binary')) {
    throw reject(`${op} is not defined for ${leaf.type} attributes`);
  }
  switch (leaf.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw reject('expected true or false');
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw reject('expected an integer');
      return value;
    case 'decimal':
      if (typeof value !== 'number') throw reject('expected a number');
      return value;
    case 'dateTime': {
      const normalized = typeof value === 'string' ? normalizeDateTime(value) : undefined;
      if (!normalized) throw reject('expected a dateTime such as "2025-01-31T12:00:00Z"');
      return normalized;
    }
    default:
      if (typeof value !== 'string') throw reject('expected a string');
      return value;
  }
}

function invalid(detail: string): ScimError {
  return ScimError.of('invalidFilter', `Invalid filter: ${detail}`);
}
