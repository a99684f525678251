// Attribute projection of RFC 7644 §3.4.2.5 (`attributes` / `excludedAttributes`) under the
// `returned` characteristic of RFC 7643 §7: "always" attributes (id, schemas) are always returned,
// "never" ones (password) never, "request" ones only when named in `attributes`, "default" ones
// unless excluded. `attributes` takes precedence when both parameters are given.

import { resourceType, resolveAttribute, schemaOf, attr, findByName, topLevelAttributes, verbatimAttribute, type AttributeDef, type ResourceTypeRef } from './schemas/index.js';
import { findExtensionUrn, isPlainObject, isUndeclaredExtensionKey, type JsonObject } from './resource.js';

export interface ProjectionParams {
  /** Already split lists, or the raw comma-separated query parameters. */
  attributes?: readonly string[] | string;
  excludedAttributes?: readonly string[] | string;
}

/** Splits a comma-separated `attributes`/`excludedAttributes` query parameter. */
export function parseAttributeList(param: string | undefined): string[] {
  if (param === undefined) return [];
  return param
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** Projects a full resource as served (with id, schemas, meta, members/groups). */
export function projectResource(kind: ResourceTypeRef, fullResource: JsonObject, params: ProjectionParams = {}): JsonObject {
  const { mode, selection } = buildSelection(kind, params);
  const projected = projectObject(fullResource, rootAttributes(kind), selection, mode) ?? {};
  return withDeclaredSchemas(kind, projected);
}

/**
 * Whether the projection returns a top-level attribute at all, so that callers can skip loading it
 * (the Groups service reads the membership table only when `members` is returned).
 */
export function includesAttribute(kind: ResourceTypeRef, params: ProjectionParams, name: string): boolean {
  const def = findByName(rootAttributes(kind), name);
  if (def === undefined) return false;
  const { mode, selection } = buildSelection(kind, params);
  return visibility(def, selection.children.get(def.name.toLowerCase()), mode) !== 'none';
}

// ---------------------------------------------------------------------------------------------
// The attribute tree: top-level attributes, plus each extension as a complex attribute named by
// its URN (that is how it appears in the JSON), plus `schemas`.

const SCHEMAS_ATTRIBUTE = attr('schemas', 'reference', { multiValued: true, returned: 'always', mutability: 'readOnly' });

// One list per schema (schemas are immutable values; a workspace's changes make a new one), so
// that findByName's index of it is built once.
const rootAttributeLists = new WeakMap<object, AttributeDef[]>();

function rootAttributes(kind: ResourceTypeRef): AttributeDef[] {
  const schema = schemaOf(kind);
  let list = rootAttributeLists.get(schema);
  if (!list) {
    const extensions = schema.extensions.map((ext) => attr(ext.id, 'complex', { subAttributes: ext.attributes }));
    list = [SCHEMAS_ATTRIBUTE, ...topLevelAttributes(kind), ...extensions];
    rootAttributeLists.set(schema, list);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Selection: the named attributes as a tree keyed by lower-cased canonical names.

type Mode = 'include' | 'exclude';

interface Selection {
  /** The attribute is named itself, not just some of its sub-attributes. */
  all: boolean;
  children: Map<string, Selection>;
}

function buildSelection(kind: ResourceTypeRef, params: ProjectionParams): { mode: Mode; selection: Selection } {
  const attributes = asList(params.attributes);
  const mode: Mode = attributes.length > 0 ? 'include' : 'exclude';
  const selection: Selection = { all: false, children: new Map() };
  for (const name of mode === 'include' ? attributes : asList(params.excludedAttributes)) {
    const chain = attributeChain(kind, name);
    if (chain !== undefined) select(selection, chain);
  }
  return { mode, selection };
}

function asList(value: readonly string[] | string | undefined): readonly string[] {
  return typeof value === 'string' ? parseAttributeList(value) : (value ?? []);
}

/**
 * The canonical names from the root to the named attribute: `name.givenName` → [name, givenName],
 * `urn:…:enterprise:2.0:User:manager.value` → [urn, manager, value], `urn:…:enterprise:2.0:User` →
 * [urn]. Unknown names select nothing: RFC 7644 §3.4.2.5 gives no error for them, and an IdP
 * asking for an attribute this server lacks should still get its resources.
 */
function attributeChain(kind: ResourceTypeRef, name: string): string[] | undefined {
  const urn = findExtensionUrn(kind, name);
  if (urn !== undefined) return [urn];
  // An undeclared extension kept verbatim is named by its URN as the stored key.
  if (isUndeclaredExtensionKey(kind, name)) return [name];
  if (name.toLowerCase() === 'schemas') return ['schemas'];
  const resolved = resolveAttribute(kind, name);
  if (resolved === undefined) return undefined;
  const chain = [resolved.attribute.name];
  if (resolved.subAttribute !== undefined) chain.push(resolved.subAttribute.name);
  return resolved.extension === undefined ? chain : [resolved.extension, ...chain];
}

function select(root: Selection, chain: string[]): void {
  let node = root;
  for (const name of chain) {
    const key = name.toLowerCase();
    let child = node.children.get(key);
    if (child === undefined) {
      child = { all: false, children: new Map() };
      node.children.set(key, child);
    }
    node = child;
  }
  node.all = true;
}

// ---------------------------------------------------------------------------------------------
// Projection.

type Visibility = 'none' | 'whole' | 'partial';

/** What of an attribute is returned, given its `returned` characteristic and the selection. */
function visibility(def: AttributeDef, node: Selection | undefined, mode: Mode): Visibility {
  if (def.returned === 'never') return 'none';
  if (def.returned === 'always') return 'whole';
  if (mode === 'include') {
    if (node === undefined) return 'none';
    return node.all ? 'whole' : 'partial';
  }
  if (node?.all) return 'none';
  if (def.returned === 'request') return 'none';
  return node === undefined ? 'whole' : 'partial';
}

function projectObject(object: JsonObject, defs: AttributeDef[], selection: Selection | undefined, mode: Mode): JsonObject | undefined {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    // A stored key no schema defines was kept verbatim (`store` policy) and is returned as such.
    const def = findByName(defs, key) ?? verbatimAttribute(key);
    const node = selection?.children.get(def.name.toLowerCase());
    const projected = projectAttribute(def, value, node, mode);
    if (projected !== undefined) result[key] = projected;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function projectAttribute(def: AttributeDef, value: unknown, node: Selection | undefined, mode: Mode): unknown {
  const shown = visibility(def, node, mode);
  if (shown === 'none') return undefined;
  const subAttributes = def.subAttributes;
  if (def.type !== 'complex' || subAttributes === undefined) return value;
  // A wholly returned complex attribute still hides its "never"/"request" sub-attributes, so it is
  // projected as "everything not excluded".
  const [childSelection, childMode] = shown === 'whole' ? [undefined, 'exclude' as const] : [node, mode];
  const projectOne = (item: unknown) => (isPlainObject(item) ? projectObject(item, subAttributes, childSelection, childMode) : item);
  if (!Array.isArray(value)) return projectOne(value);
  const items = value.map(projectOne).filter((item) => item !== undefined);
  // An empty array stays an empty array when the attribute itself was asked for (members: []).
  return items.length > 0 || shown === 'whole' ? items : undefined;
}

/** RFC 7643 §3: `schemas` names the extensions used, so an extension projected away leaves it too. */
function withDeclaredSchemas(kind: ResourceTypeRef, projected: JsonObject): JsonObject {
  const schemas = projected['schemas'];
  if (!Array.isArray(schemas)) return projected;
  const core = resourceType(kind).schema.toLowerCase();
  const kept = schemas.filter((urn) => typeof urn !== 'string' || urn.toLowerCase() === core || findKey(projected, urn) !== undefined);
  return { ...projected, schemas: kept };
}

function findKey(object: JsonObject, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((key) => key.toLowerCase() === lower);
}
