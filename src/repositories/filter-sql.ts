import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { ScimError } from '../scim/errors.js';
import { leafOf, resolveAttributePath, type AttributeRef, type CompareNode, type CompareOperator, type FilterNode } from '../scim/filter.js';
import { findByName, schemaOf, type AttributeDef, type ResourceKind, type ResourceTypeRef } from '../scim/schemas/index.js';

// SCIM filter AST → SQL (RFC 7644 §3.4.2.2) over the storage layout of migrations/2026112101_core.ts.
//
// Values from the client are always bound parameters. The only text spliced into the SQL is
// constant: operators from a closed table, and jsonb keys taken from the schema definitions
// (never from the filter text; the parser resolved names to definitions), as literals so that
// expression indexes such as (resource->'name'->>'givenName') can match.
//
// Semantics, kept identical in the in-memory matcher (src/scim/filter/matcher.ts):
// - Unassigned values (RFC 7643 §2.5: missing, null, []) match no operator except `ne`:
//   `title ne "x"` is `not (title eq "x")` and so matches users without a title. Keeping `ne` and
//   `not eq` equal lets clients rely on De Morgan, and a null value is indeed "not identical" to
//   the operand. For a multi-valued attribute `ne` is true when any value differs (RFC 7644
//   §3.4.2.2: "matches if any of the values ... match") or when there is no value at all.
// - `pr` needs a non-empty value: not missing, null, "", [] or {}; for a complex value, one
//   non-empty sub-value.
// - Case-insensitive attributes compare lower() on both sides; userName and Group displayName
//   use exactly the expressions of their unique indexes. Strings order by code point (COLLATE
//   "C"), so PostgreSQL and PGlite, whatever their default collation, return the same rows.
// - A predicate may be NULL only where NULL and false select the same rows (under and/or);
//   `not` wraps its operand in coalesce(..., false) to keep the logic two-valued.

type Predicate = RawBuilder<SqlBool>;
type Sql = RawBuilder<unknown>;

const TRUE = sql<SqlBool>`true`;

/** Compiles a parsed filter to a WHERE expression over `users` or `groups` (plain table names). */
export function compileFilter(kind: ResourceTypeRef, node: FilterNode): Expression<SqlBool> {
  return compileNode(rootScope(schemaOf(kind).kind), node);
}

/**
 * The ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3). Multi-valued attributes sort by the
 * primary value, else the first; `emails` alone means `emails.value`. Resources without a value
 * sort as NULL, which PostgreSQL's defaults (ASC NULLS LAST, DESC NULLS FIRST) put where the RFC
 * wants them: "last if ascending and first if descending". The caller adds a unique tiebreaker.
 *
 * An unusable sortBy is `invalidValue`: it is a query parameter naming an attribute, not a filter
 * (invalidFilter) nor a PATCH path (invalidPath), and RFC 7644 §3.12 defines invalidValue for a
 * value "not compatible with the operation or attribute type, or resource schema". Rejecting it
 * beats silently returning an order the client did not ask for.
 */
export function compileSort(kind: ResourceTypeRef, sortBy: string): Expression<unknown> {
  const attr = resolveAttributePath(kind, sortBy);
  if (!attr || attr.attribute.verbatim || leafOf(attr).returned === 'never') throw invalidSort(sortBy, 'unknown attribute');
  const target = rootScope(schemaOf(kind).kind).target(attr);
  switch (target.kind) {
    case 'value':
      return sortKey(target.value);
    case 'elements': {
      const sub = attr.subAttribute ?? findByName(attr.attribute.subAttributes ?? [], 'value');
      const first = sub && target.elements.first?.(sub);
      if (!first) throw invalidSort(sortBy, 'this multi-valued attribute cannot be sorted on');
      return first;
    }
    case 'object':
      throw invalidSort(sortBy, 'complex attribute; sort by one of its sub-attributes');
    case 'derived':
      throw invalidSort(sortBy, 'computed by the service, not sortable');
  }
}

// ---------------------------------------------------------------------------------------------
// Where attribute values live: a Scope maps an attribute reference to a Target.

/** A single value: a typed column, or the text (->>) of a member of a jsonb document. */
interface Value {
  /** Type and caseExact come from the schema, whatever the storage. */
  def: AttributeDef;
  sql: Sql;
  /** Set when the value comes from jsonb: the member itself (->), for presence and guarded casts. */
  json?: Sql;
  /** A uuid column: equality binds a uuid parameter so the index on the column is usable. */
  uuid?: true;
}

/** The elements of a multi-valued attribute. */
interface Elements {
  /** EXISTS (an element for which `predicate` holds). */
  any(predicate: (element: Scope) => Predicate): Predicate;
  /** The attribute has a non-empty value. */
  present(): Predicate;
  /** Sort key of the primary element's `sub`, else the first element's (RFC 7644 §3.4.2.3). */
  first?(sub: AttributeDef): Sql | undefined;
}

type Target =
  | { kind: 'value'; value: Value }
  | { kind: 'elements'; elements: Elements; sub?: AttributeDef }
  /** A singular complex attribute stored as a jsonb object. */
  | { kind: 'object'; json: Sql }
  /** Present on every resource but computed outside the database (meta, meta.location, $ref). */
  | { kind: 'derived' };

interface Scope {
  target(attr: AttributeRef): Target;
}

function compileNode(scope: Scope, node: FilterNode): Predicate {
  switch (node.op) {
    case 'and':
    case 'or':
      return sql<SqlBool>`(${sql.join(node.filters.map((f) => compileNode(scope, f)), sql.raw(` ${node.op} `))})`;
    case 'not':
      return not(compileNode(scope, node.filter));
    case 'valuePath':
      return elementsOf(scope.target(node.attr), node.attr).any((element) => compileNode(element, node.filter));
    case 'pr':
      return present(scope.target(node.attr));
    default:
      return compare(scope.target(node.attr), node);
  }
}

function not(predicate: Predicate): Predicate {
  return sql<SqlBool>`not coalesce(${predicate}, false)`;
}

function elementsOf(target: Target, attr: AttributeRef): Elements {
  if (target.kind !== 'elements') throw new Error(`${attr.path} is not multi-valued`);
  return target.elements;
}

function present(target: Target): Predicate {
  switch (target.kind) {
    case 'value':
      return valuePresent(target.value);
    case 'elements': {
      const { sub, elements } = target;
      return sub ? elements.any((element) => present(element.target(subRef(sub)))) : elements.present();
    }
    case 'object':
      return jsonObjectPresent(target.json);
    case 'derived':
      return TRUE;
  }
}

function compare(target: Target, node: CompareNode): Predicate {
  switch (target.kind) {
    case 'value':
      return compareValue(target.value, node);
    case 'elements': {
      // The parser rejects comparisons of complex attributes such as `emails eq "x"`.
      if (!target.sub) throw new Error(`cannot compare multi-valued attribute ${node.attr.path}`);
      const sub = subRef(target.sub);
      const any = target.elements.any((element) => compare(element.target(sub), node));
      // `ne` also holds when there is no value at all (see the header comment).
      return node.op === 'ne' ? sql<SqlBool>`(not ${target.elements.any(() => TRUE)} or ${any})` : any;
    }
    case 'object':
      throw new Error(`cannot compare complex attribute ${node.attr.path}`);
    case 'derived':
      throw ScimError.of('invalidFilter', `Invalid filter: ${node.attr.path} is derived from the request URL and cannot be compared; use pr`);
  }
}

/** A reference to a sub-attribute as an element scope sees it. */
function subRef(sub: AttributeDef): AttributeRef {
  return { attribute: sub, subAttribute: sub, path: sub.name };
}

// ---------------------------------------------------------------------------------------------
// Comparisons of one value.

const SQL_OPERATORS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compareValue(value: Value, node: CompareNode): Predicate {
  if (node.op === 'ne') return not(compareValue(value, { ...node, op: 'eq' }));
  switch (value.def.type) {
    case 'boolean':
      return sql<SqlBool>`${booleanOperand(value)} = ${node.value}`;
    case 'dateTime':
      return ordered(dateTimeOperand(value), node.op, sql`${node.value}::timestamptz`);
    case 'integer':
    case 'decimal':
      return ordered(numericOperand(value), node.op, sql`${node.value}::numeric`);
    default:
      return compareString(value, node.op, String(node.value));
  }
}

function ordered(left: Sql, op: CompareOperator, right: Sql): Predicate {
  if (!(op in SQL_OPERATORS)) throw new Error(`operator ${op} is not an ordering`);
  return sql<SqlBool>`${left} ${sql.raw(SQL_OPERATORS[op as keyof typeof SQL_OPERATORS])} ${right}`;
}

function compareString(value: Value, op: CompareOperator, operand: string): Predicate {
  // uuids are case-insensitive (RFC 4122 §3), so binding a uuid keeps eq exact and uses the index.
  if (value.uuid && op === 'eq' && UUID.test(operand)) return sql<SqlBool>`${value.sql} = ${operand}::uuid`;
  const text = value.uuid ? sql`${value.sql}::text` : value.sql;
  const fold = (s: Sql) => (value.def.caseExact ? s : sql`lower(${s})`);
  switch (op) {
    case 'co':
    case 'sw':
    case 'ew':
      return sql<SqlBool>`${fold(text)} like ${fold(sql`${likePattern(op, operand)}`)} escape '\\'`;
    case 'eq':
      return sql<SqlBool>`${fold(text)} = ${fold(sql`${operand}`)}`;
    default:
      return ordered(sql`${fold(text)} collate "C"`, op, fold(sql`${operand}`));
  }
}

/** co/sw/ew as a LIKE pattern; %, _ and the escape character itself match literally. */
export function likePattern(op: 'co' | 'sw' | 'ew', operand: string): string {
  const escaped = operand.replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'sw' ? `${escaped}%` : op === 'ew' ? `%${escaped}` : `%${escaped}%`;
}

// Values from jsonb are text that a client wrote; a cast that fails would turn the whole query
// into a 500, so casts only apply to text of the right shape and anything else reads as NULL.
const NUMBER_SHAPE = '^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$';
const DATE_TIME_SHAPE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[-+][0-9]{2}:[0-9]{2})?$';
const HAS_OFFSET = '([Zz]|[-+][0-9]{2}:[0-9]{2})$';

/** Booleans also read from "true"/"false" strings, as some clients send them. */
function booleanOperand(value: Value): Sql {
  if (!value.json) return value.sql;
  return sql`(case lower(${value.sql}) when 'true' then true when 'false' then false end)`;
}

function numericOperand(value: Value): Sql {
  if (!value.json) return value.sql;
  return sql`(case when ${value.sql} ~ ${sql.lit(NUMBER_SHAPE)} then (${value.sql})::numeric end)`;
}

/** A dateTime without an offset is UTC, as in the parser (normalizeDateTime). */
function dateTimeOperand(value: Value): Sql {
  if (!value.json) return value.sql;
  const utc = sql`(case when ${value.sql} ~ ${sql.lit(HAS_OFFSET)} then ${value.sql} else ${value.sql} || 'Z' end)`;
  return sql`(case when ${value.sql} ~ ${sql.lit(DATE_TIME_SHAPE)} then ${utc}::timestamptz end)`;
}

function sortKey(value: Value): Sql {
  switch (value.def.type) {
    case 'boolean':
      return booleanOperand(value);
    case 'dateTime':
      return dateTimeOperand(value);
    case 'integer':
    case 'decimal':
      return numericOperand(value);
    default: {
      if (value.uuid) return value.sql;
      const text = sql`nullif(${value.sql}, '')`;
      return sql`${value.def.caseExact ? text : sql`lower(${text})`} collate "C"`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Presence (RFC 7644 §3.4.2.2 pr).

function valuePresent(value: Value): Predicate {
  if (value.json) return jsonHasValue(value.json);
  if (value.def.type === 'string' && !value.uuid) return sql<SqlBool>`${value.sql} <> ''`;
  return sql<SqlBool>`${value.sql} is not null`;
}

/** Not missing, not JSON null, not "", [] or {} (RFC 7643 §2.5). */
function jsonHasValue(json: Sql): Predicate {
  return sql<SqlBool>`${json} not in ('null', '""', '[]', '{}')`;
}

/** A complex value is present when one of its sub-attributes has a value. */
function jsonObjectPresent(json: Sql): Predicate {
  const object = sql`case when jsonb_typeof(${json}) = 'object' then ${json} else '{}'::jsonb end`;
  return sql<SqlBool>`exists (select 1 from jsonb_each(${object}) as kv(key, item) where ${jsonHasValue(sql`kv.item`)})`;
}

// ---------------------------------------------------------------------------------------------
// Storage: columns, the resource document, and group_members.

function rootScope(kind: ResourceKind): Scope {
  const table = kind === 'User' ? 'users' : 'groups';
  const columns = columnTargets(kind, table);
  return {
    target(attr) {
      if (!attr.extension) {
        if (attr.attribute.name === MEMBERSHIP_ATTRIBUTE[kind]) return membershipTarget(kind, attr);
        const column = columns[attr.path];
        if (column) return column(leafOf(attr));
      }
      // The resource document keeps extension attributes under their schema URN.
      const resource = sql.ref(`${table}.resource`);
      return jsonTarget(attr.extension ? sql`${resource}->${jsonKey(attr.extension)}` : resource, attr);
    },
  };
}

type ColumnTarget = (def: AttributeDef) => Target;

/** Attributes stored in (or computed from) columns, by canonical path. */
function columnTargets(kind: ResourceTypeRef, table: 'users' | 'groups'): Record<string, ColumnTarget> {
  const column = (name: string, options: { uuid?: true } = {}): ColumnTarget => (def) => ({
    kind: 'value',
    value: { def, sql: sql.ref(`${table}.${name}`), ...options },
  });
  const computed = (expression: Sql): ColumnTarget => (def) => ({ kind: 'value', value: { def, sql: expression } });
  const derived: ColumnTarget = () => ({ kind: 'derived' });
  const common: Record<string, ColumnTarget> = {
    id: column('id', { uuid: true }),
    externalId: column('external_id'),
    meta: derived,
    'meta.created': column('created_at'),
    'meta.lastModified': column('updated_at'),
    'meta.resourceType': computed(sql.lit(kind)),
    // The ETag form the service serves as meta.version (RFC 7644 §3.14).
    'meta.version': computed(sql`('W/"' || ${sql.ref(`${table}.version`)} || '"')`),
    'meta.location': derived,
  };
  return kind === 'User'
    ? { ...common, userName: column('user_name'), active: column('active') }
    : { ...common, displayName: column('display_name') };
}

/** An attribute in the jsonb document `base` (the resource, or an extension object in it). */
function jsonTarget(base: Sql, attr: AttributeRef): Target {
  const json = sql`${base}->${jsonKey(attr.attribute.name)}`;
  if (attr.attribute.multiValued) return { kind: 'elements', elements: jsonElements(json, attr.attribute), sub: attr.subAttribute };
  if (attr.subAttribute) return jsonMember(json, attr.subAttribute);
  if (attr.attribute.type === 'complex') return { kind: 'object', json };
  return jsonMember(base, attr.attribute);
}

function jsonMember(object: Sql, def: AttributeDef): Target {
  const key = jsonKey(def.name);
  return { kind: 'value', value: { def, sql: sql`(${object}->>${key})`, json: sql`(${object}->${key})` } };
}

/** Elements of a jsonb array; anything else stored there reads as no elements. */
function jsonElements(array: Sql, def: AttributeDef): Elements {
  const elements = sql`jsonb_array_elements(case when jsonb_typeof(${array}) = 'array' then ${array} else '[]'::jsonb end)`;
  const scope: Scope = {
    target(attr) {
      return jsonMember(sql`el.item`, leafOf(attr));
    },
  };
  const primary = findByName(def.subAttributes ?? [], 'primary');
  return {
    any: (predicate) => sql<SqlBool>`exists (select 1 from ${elements} as el(item) where ${predicate(scope)})`,
    present: () => {
      const item = sql`el.item`;
      const elementPresent = def.type === 'complex' ? jsonObjectPresent(item) : jsonHasValue(item);
      return sql<SqlBool>`exists (select 1 from ${elements} as el(item) where ${elementPresent})`;
    },
    first(sub) {
      const target = scope.target(subRef(sub));
      if (target.kind !== 'value') return undefined;
      const primaryFirst = primary ? sql`case when ${booleanOperand(valueOf(scope.target(subRef(primary))))} then 0 else 1 end, ` : sql``;
      return sql`(select ${sortKey(target.value)} from ${elements} with ordinality as el(item, position) where ${valuePresent(target.value)} order by ${primaryFirst}el.position limit 1)`;
    },
  };
}

function valueOf(target: Target): Value {
  if (target.kind !== 'value') throw new Error('expected a single value');
  return target.value;
}

// The User's `groups` and the Group's `members` come only from group_members (the resource
// document never holds them), one row per membership.
const MEMBERSHIP_ATTRIBUTE: Record<ResourceKind, string> = { User: 'groups', Group: 'members' };

function membershipTarget(kind: ResourceKind, attr: AttributeRef): Target {
  const [other, alias, ownKey, otherKey] =
    kind === 'Group' ? (['users', 'mu', 'group_id', 'user_id'] as const) : (['groups', 'mg', 'user_id', 'group_id'] as const);
  const owner = kind === 'Group' ? 'groups' : 'users';
  const subAttributes: Record<string, ColumnTarget> = {
    value: (def) => ({ kind: 'value', value: { def, sql: sql.ref(`gm.${otherKey}`), uuid: true } }),
    // What the service returns as `display`: a member's displayName falling back to userName,
    // a group's displayName.
    display: (def) => ({
      kind: 'value',
      value: {
        def,
        sql: kind === 'Group' ? sql`coalesce(nullif(${sql.ref('mu.resource')}->>'displayName', ''), ${sql.ref('mu.user_name')})` : sql.ref('mg.display_name'),
      },
    }),
    // Members are always Users; groups are never nested, so every membership is direct.
    type: (def) => ({ kind: 'value', value: { def, sql: sql.lit(kind === 'Group' ? 'User' : 'direct') } }),
    $ref: () => ({ kind: 'derived' }),
  };
  const scope: Scope = {
    target(sub) {
      const column = subAttributes[leafOf(sub).name];
      if (!column) throw new Error(`no storage for ${attr.attribute.name}.${leafOf(sub).name}`);
      return column(leafOf(sub));
    },
  };
  const any = (predicate: (element: Scope) => Predicate) =>
    sql<SqlBool>`exists (select 1 from group_members as gm join ${sql.table(other)} as ${sql.id(alias)} on ${sql.ref(`${alias}.id`)} = ${sql.ref(`gm.${otherKey}`)} where ${sql.ref(`gm.${ownKey}`)} = ${sql.ref(`${owner}.id`)} and ${predicate(scope)})`;
  return { kind: 'elements', elements: { any, present: () => any(() => TRUE) }, sub: attr.subAttribute };
}

/** A jsonb key from the schema definitions, spliced as a literal (see the header comment). */
function jsonKey(name: string): Sql {
  if (!/^[A-Za-z0-9$:._-]+$/.test(name)) throw new Error(`unexpected attribute name ${JSON.stringify(name)}`);
  return sql.lit(name);
}

function invalidSort(sortBy: string, why: string): ScimError {
  return ScimError.of('invalidValue', `Invalid sortBy ${JSON.stringify(sortBy)}: ${why}`);
}
