import type { AttributeDef, ResolvedAttribute } from '../schemas/index.js';

// The validated filter AST (RFC 7644 §3.4.2.2). Every attribute path is resolved against the
// schemas, every comparison value is checked against the attribute's type, so consumers (the SQL
// compiler, the PATCH engine) never see a name or value they have to validate again.

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A resolved attribute reference; `path` is its canonical spelling, for messages and debugging. */
export interface AttributeRef extends ResolvedAttribute {
  path: string;
}

export interface CompareNode {
  op: CompareOperator;
  attr: AttributeRef;
  /** Never null: `eq null` / `ne null` are rewritten to presence tests by the parser. */
  value: string | number | boolean;
}

export interface PresentNode {
  op: 'pr';
  attr: AttributeRef;
}

export interface LogicalNode {
  op: 'and' | 'or';
  filters: FilterNode[];
}

export interface NotNode {
  op: 'not';
  filter: FilterNode;
}

/**
 * `emails[type eq "work" and value co "@x.com"]`: true when one element of the multi-valued
 * attribute satisfies the whole inner filter. Every reference inside `filter` has
 * `attribute === attr.attribute` and names a sub-attribute.
 */
export interface ValuePathNode {
  op: 'valuePath';
  attr: AttributeRef;
  filter: FilterNode;
}

export type FilterNode = CompareNode | PresentNode | LogicalNode | NotNode | ValuePathNode;

/** The attribute a comparison actually reads: the sub-attribute when there is one. */
export function leafOf(attr: ResolvedAttribute): AttributeDef {
  return attr.subAttribute ?? attr.attribute;
}

/** Canonical text of a filter, e.g. `name.givenName eq "x" and not (emails pr)`. */
export function formatFilter(node: FilterNode): string {
  switch (node.op) {
    case 'and':
    case 'or':
      return node.filters.map((f) => (isLogical(f) ? `(${formatFilter(f)})` : formatFilter(f))).join(` ${node.op} `);
    case 'not':
      return `not (${formatFilter(node.filter)})`;
    case 'valuePath':
      return `${node.attr.path}[${formatFilter(node.filter)}]`;
    case 'pr':
      return `${node.attr.path} pr`;
    default:
      return `${node.attr.path} ${node.op} ${JSON.stringify(node.value)}`;
  }
}

function isLogical(node: FilterNode): boolean {
  return node.op === 'and' || node.op === 'or';
}
