import type { AttributeDef } from '../schemas/index.js';
import { leafOf, type AttributeRef, type CompareNode, type FilterNode } from './ast.js';
import { hasValue, normalizeDateTime } from './values.js';

/**
 * Evaluates a value filter against one element of a multi-valued attribute, e.g. the filter of
 * `emails[type eq "work" and primary eq true]` against `{ "value": "a@x.com", "type": "work" }`.
 * Pass the `filter` of a ValuePathNode (or ParsedPath): its references name sub-attributes, which
 * are read from `element` with case-insensitive keys (RFC 7643 §2.1).
 *
 * The semantics mirror the SQL compiler (src/repositories/filter-sql.ts): case-insensitive unless
 * caseExact, `ne` true on a missing value, booleans also accepted as "true"/"false" strings,
 * strings ordered by code point.
 */
export function matchesFilter(node: FilterNode, element: unknown): boolean {
  switch (node.op) {
    case 'and':
      return node.filters.every((f) => matchesFilter(f, element));
    case 'or':
      return node.filters.some((f) => matchesFilter(f, element));
    case 'not':
      return !matchesFilter(node.filter, element);
    case 'valuePath': {
      const values = readKey(element, node.attr.attribute.name);
      return Array.isArray(values) && values.some((value) => matchesFilter(node.filter, value));
    }
    case 'pr':
      return isPresent(readKey(element, keyOf(node.attr)), leafOf(node.attr));
    default:
      return compare(node, readKey(element, keyOf(node.attr)));
  }
}

function keyOf(attr: AttributeRef): string {
  return leafOf(attr).name;
}

function readKey(object: unknown, key: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
  const record = object as Record<string, unknown>;
  if (key in record) return record[key];
  const lower = key.toLowerCase();
  const found = Object.keys(record).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : record[found];
}

/** RFC 7644 §3.4.2.2 pr: a non-empty value; for a complex value, a non-empty sub-value. */
export function isPresent(value: unknown, def: Pick<AttributeDef, 'type' | 'multiValued'>): boolean {
  if (def.multiValued) return Array.isArray(value) && value.some((v) => isPresent(v, { ...def, multiValued: false }));
  if (def.type === 'complex') {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).some(hasValue);
  }
  return hasValue(value);
}

function compare(node: CompareNode, actual: unknown): boolean {
  // `ne` is `not eq`, so a missing value is "not equal" (RFC 7643 §2.5, see filter-sql.ts).
  if (node.op === 'ne') return !compare({ ...node, op: 'eq' }, actual);
  const leaf = leafOf(node.attr);
  switch (leaf.type) {
    case 'boolean':
      return asBooleanText(actual) === String(node.value);
    case 'dateTime':
      return order(node.op, asTime(actual), asTime(node.value));
    case 'integer':
    case 'decimal':
      return order(node.op, asNumber(actual), Number(node.value));
    default:
      return compareText(node, leaf, actual);
  }
}

function compareText(node: CompareNode, leaf: AttributeDef, actual: unknown): boolean {
  const raw = asText(actual);
  if (raw === undefined) return false;
  const fold = (s: string) => (leaf.caseExact ? s : s.toLowerCase());
  const [value, operand] = [fold(raw), fold(String(node.value))];
  switch (node.op) {
    case 'co':
      return value.includes(operand);
    case 'sw':
      return value.startsWith(operand);
    case 'ew':
      return value.endsWith(operand);
    default:
      return order(node.op, compareCodePoints(value, operand), 0);
  }
}

/** Applies eq/gt/ge/lt/le to two comparable values; false when either is missing (NaN). */
function order(op: CompareNode['op'], a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  switch (op) {
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return a === b;
  }
}

// Mirrors `->>` in SQL: scalars read as their text, JSON null and containers are no text.
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function asBooleanText(value: unknown): string | undefined {
  return asText(value)?.toLowerCase();
}

function asTime(value: unknown): number {
  const normalized = typeof value === 'string' ? normalizeDateTime(value) : undefined;
  return normalized ? Date.parse(normalized) : NaN;
}

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
function asNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && NUMERIC.test(value) ? Number(value) : NaN;
}

/** Code point order, which is the byte order of UTF-8 and so of PostgreSQL's "C" collation. */
function compareCodePoints(a: string, b: string): number {
  const [x, y] = [Array.from(a), Array.from(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const diff = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
  return x.length - y.length;
}
