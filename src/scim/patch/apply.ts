// Applies PATCH operations (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove, §3.5.2.3 replace) to a working
// copy of a resource in stored shape. The caller owns the copy and re-validates the result, so an
// operation may throw at any point without anything being partially applied.

import { ScimError } from '../errors.js';
import { matchesFilter } from '../filter.js';
import {
  invalidValue,
  isIgnoredOnInput,
  isPlainObject,
  normalizeSingle,
  normalizeValue,
  type JsonObject,
} from '../resource.js';
import type { AttributeDef, ResourceTypeRef } from '../schemas/index.js';
import type { PatchOpName, PatchOperation } from './operations.js';
import { parsePath, type PatchTarget } from './path.js';
import { equalityTemplate } from './value-filter.js';

export interface ApplyContext {
  kind: ResourceTypeRef;
  /** The resource's id: a path-less value may repeat it (Okta's group rename does). */
  id: string;
  /**
   * Takes over operations on an attribute that is not kept in the resource (a Group's members);
   * returns true when it handled the operation.
   */
  delegate?: (op: PatchOpName, target: PatchTarget, value: unknown) => boolean;
}

export function applyOperation(doc: JsonObject, operation: PatchOperation, context: ApplyContext): void {
  const { op, path, value } = operation;
  if (path !== undefined) return applyToTarget(doc, op, parsePath(context.kind, path), value, context);
  // RFC 7644 §3.5.2.2: remove without a path has no target.
  if (op === 'remove') throw ScimError.of('noTarget', `Operations[${operation.index}]: "remove" needs a "path"`);
  applyPathless(doc, op, value, context);
}

/**
 * RFC 7644 §3.5.2.1/§3.5.2.3 with no path: the value is an object of attributes to add or replace.
 * Its keys are treated as paths, which covers Entra's dotted and URN-qualified keys
 * (`{"name.givenName": …, "urn:…:User:employeeNumber": …}`) and Okta's `{"active": false}`.
 */
function applyPathless(doc: JsonObject, op: PatchOpName, value: unknown, context: ApplyContext): void {
  if (!isPlainObject(value)) throw invalidValue(`"${op}" without a "path" needs an object of attributes as its value`);
  for (const [key, item] of Object.entries(value)) {
    // `schemas` describes the resource, it is not an attribute a client can change; echoes are harmless.
    if (key.toLowerCase() === 'schemas') continue;
    applyToTarget(doc, op, parsePath(context.kind, key), item, context);
  }
}

function applyToTarget(doc: JsonObject, op: PatchOpName, target: PatchTarget, value: unknown, context: ApplyContext): void {
  const { attribute, extension } = target;
  if (attribute === undefined) return applyToExtension(doc, op, target, value, context);
  if (isUnchangedId(attribute, op, value, context)) return;
  checkMutability(op, target);
  checkRemovable(op, target);
  // password is accepted and discarded, in PATCH as in POST/PUT.
  if (attribute.mutability === 'writeOnly') return;
  if (context.delegate?.(op, target, value)) return;

  const container = containerFor(doc, extension, op);
  if (container === undefined) return;
  if (attribute.multiValued) applyToMultiValued(container, op, target, value);
  else if (target.subAttribute !== undefined) applyToSubAttribute(container, op, attribute, target.subAttribute, value, target.name);
  else applyToSingleValued(container, op, attribute, value, target.name);
  if (extension !== undefined && Object.keys(container).length === 0) delete doc[extension];
}

/** A whole extension object as the target: remove drops it, add/replace apply each attribute in turn. */
function applyToExtension(doc: JsonObject, op: PatchOpName, target: PatchTarget, value: unknown, context: ApplyContext): void {
  const urn = target.extension!;
  if (op === 'remove') {
    delete doc[urn];
    return;
  }
  if (!isPlainObject(value)) throw invalidValue(`"${urn}" must be given an object of extension attributes`);
  for (const [key, item] of Object.entries(value)) {
    applyToTarget(doc, op, parsePath(context.kind, `${urn}:${key}`), item, context);
  }
}

/** Okta's rename sends `{"id": "<the group's id>", "displayName": …}`: repeating the id is not a change. */
function isUnchangedId(attribute: AttributeDef, op: PatchOpName, value: unknown, context: ApplyContext): boolean {
  return attribute.name === 'id' && op !== 'remove' && value === context.id;
}

/** RFC 7644 §3.5.2: operations must respect mutability; readOnly attributes (id, meta, groups) cannot change. */
function checkMutability(op: PatchOpName, target: PatchTarget): void {
  const readOnly = [target.attribute, target.subAttribute].find((def) => def?.mutability === 'readOnly');
  if (readOnly !== undefined) {
    throw ScimError.of('mutability', `Cannot ${op} "${target.text}": "${readOnly.name}" is readOnly`);
  }
}

/**
 * Removing a required attribute (userName, a Group's displayName) would leave an invalid resource.
 * RFC 7644 §3.12 describes invalidValue as "a required value was missing"; mutability is about
 * readOnly/immutable attributes, and userName is readWrite, so invalidValue it is.
 */
function checkRemovable(op: PatchOpName, target: PatchTarget): void {
  if (op === 'remove' && target.subAttribute === undefined && target.attribute?.required) {
    throw invalidValue(`Cannot remove "${target.attribute.name}": it is required`);
  }
}

/** The object that holds the target attribute; extension objects are created on add/replace only. */
function containerFor(doc: JsonObject, extension: string | undefined, op: PatchOpName): JsonObject | undefined {
  if (extension === undefined) return doc;
  const existing = doc[extension];
  if (isPlainObject(existing)) return existing;
  if (op === 'remove') return undefined;
  const created: JsonObject = {};
  doc[extension] = created;
  return created;
}

// ---------------------------------------------------------------------------------------------
// Single-valued attributes.

/**
 * Add and replace set a simple value. For a complex value both merge the given sub-attributes into
 * the existing ones (§3.5.2.1: "the existing value is replaced" per sub-attribute; §3.5.2.3:
 * "sub-attributes that are not specified in the value parameter are left unchanged").
 */
function applyToSingleValued(container: JsonObject, op: PatchOpName, def: AttributeDef, value: unknown, name: string): void {
  if (op === 'remove') {
    delete container[def.name];
    return;
  }
  const normalized = normalizeValue(def, value, name);
  const existing = container[def.name];
  if (normalized === undefined) delete container[def.name];
  else if (isPlainObject(normalized) && isPlainObject(existing)) container[def.name] = { ...existing, ...normalized };
  else container[def.name] = normalized;
}

/** `name.givenName`: the parent object is created on demand and dropped once empty. */
function applyToSubAttribute(container: JsonObject, op: PatchOpName, def: AttributeDef, sub: AttributeDef, value: unknown, name: string): void {
  const parent = isPlainObject(container[def.name]) ? { ...(container[def.name] as JsonObject) } : {};
  setOrDelete(parent, sub, op === 'remove' ? undefined : normalizeValue(sub, value, `${name}.${sub.name}`));
  if (Object.keys(parent).length > 0) container[def.name] = parent;
  else delete container[def.name];
}

// ---------------------------------------------------------------------------------------------
// Multi-valued attributes.

function applyToMultiValued(container: JsonObject, op: PatchOpName, target: PatchTarget, value: unknown): void {
  const def = target.attribute!;
  const current = Array.isArray(container[def.name]) ? (container[def.name] as unknown[]) : [];
  const selects = target.filter !== undefined || target.subAttribute !== undefined;
  const next = selects ? applyToSelectedValues(current, op, target, value) : applyToWholeArray(current, op, def, value, target.name);
  if (next.length > 0) container[def.name] = next;
  else delete container[def.name];
}

/**
 * No filter: add appends (§3.5.2.1, identical values are not duplicated), replace swaps the whole
 * array (§3.5.2.3), remove drops the attribute (§3.5.2.2) or, when a value is given, just the
 * values it describes (Entra's `{"op":"Remove","path":"emails","value":[{"value":"…"}]}` form).
 */
function applyToWholeArray(current: unknown[], op: PatchOpName, def: AttributeDef, value: unknown, name: string): unknown[] {
  if (op === 'remove') {
    if (value === undefined || value === null) return [];
    const patterns = asArray(value).map((item) => normalizeSingle(def, item, name));
    return current.filter((element) => !patterns.some((pattern) => containsValue(element, pattern)));
  }
  // A single element is accepted where an array is expected: it can only mean a one-element array.
  const items = (normalizeValue(def, asArray(value), name) ?? []) as unknown[];
  if (op === 'replace') return items;
  const added = items.filter((item, i) => !current.some((e) => sameValue(e, item)) && !items.slice(0, i).some((e) => sameValue(e, item)));
  return withSinglePrimary([...current, ...added], added);
}

/**
 * `emails[type eq "work"]`, `emails[type eq "work"].value` and `emails.value`. When add or replace
 * selects nothing, the value is created from the filter's equality terms: Entra sends
 * `emails[type eq "work"].value` even when `emails` is absent and expects the email to appear.
 * RFC 7644 §3.5.2.3 would answer noTarget, which is still the answer when the filter cannot
 * describe a new value (anything beyond `eq` joined by `and`).
 */
function applyToSelectedValues(current: unknown[], op: PatchOpName, target: PatchTarget, value: unknown): unknown[] {
  const def = target.attribute!;
  const selected = (element: unknown) => target.filter === undefined || (isPlainObject(element) && matchesFilter(target.filter, element));
  if (op === 'remove' && target.subAttribute === undefined) return current.filter((element) => !selected(element));

  const update = elementUpdate(op, target, value);
  const touched: unknown[] = [];
  const next = current.map((element) => {
    if (!selected(element)) return element;
    const updated = update(isPlainObject(element) ? element : {});
    touched.push(updated);
    return updated;
  });
  if (touched.length === 0 && op !== 'remove') {
    const created = normalizeSingle(def, update(templateFor(target)), target.name);
    if (created !== undefined) {
      next.push(created);
      touched.push(created);
    }
  }
  return withSinglePrimary(next, touched);
}

/** How one selected element changes. */
function elementUpdate(op: PatchOpName, target: PatchTarget, value: unknown): (element: JsonObject) => JsonObject {
  const def = target.attribute!;
  const sub = target.subAttribute;
  if (sub !== undefined) {
    const normalized = op === 'remove' ? undefined : normalizeValue(sub, value, `${target.name}.${sub.name}`);
    return (element) => setOrDelete({ ...element }, sub, normalized);
  }
  const normalized = (normalizeSingle(def, value, target.name) ?? {}) as JsonObject;
  // Replace swaps each selected value but keeps the filter's equality terms, so the value still
  // answers to the filter that selected it (`addresses[type eq "work"]` stays a work address).
  if (op === 'replace') return () => ({ ...(target.filter ? equalityTemplate(target.filter) : {}), ...normalized });
  return (element) => ({ ...element, ...normalized });
}

function templateFor(target: PatchTarget): JsonObject {
  const template = target.filter === undefined ? undefined : equalityTemplate(target.filter);
  if (template === undefined) {
    throw ScimError.of('noTarget', `No value of "${target.attribute!.name}" matches "${target.text}", and the filter cannot describe a new one`);
  }
  return template;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function setOrDelete(object: JsonObject, def: AttributeDef, value: unknown): JsonObject {
  if (value === undefined || isIgnoredOnInput(def)) delete object[def.name];
  else object[def.name] = value;
  return object;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * RFC 7644 §3.5.2: setting "primary" to true on a value makes the server set it to false on the
 * others. Two new primaries in one operation stay and are refused by the final validation.
 */
function withSinglePrimary(values: unknown[], touched: unknown[]): unknown[] {
  if (!touched.some(isPrimary)) return values;
  return values.map((value) => (isPrimary(value) && !touched.includes(value) ? { ...(value as JsonObject), primary: false } : value));
}

function isPrimary(value: unknown): boolean {
  return isPlainObject(value) && value['primary'] === true;
}

/** Whether `element` carries every sub-attribute of `pattern` with the same value (strings ignoring case). */
function containsValue(element: unknown, pattern: unknown): boolean {
  if (!isPlainObject(pattern) || !isPlainObject(element)) return sameValue(element, pattern);
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = element[key];
    if (typeof actual === 'string' && typeof expected === 'string') return actual.toLowerCase() === expected.toLowerCase();
    return sameValue(actual, expected);
  });
}

/** Structural equality of JSON values, ignoring key order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && sameValue(a[key], b[key]));
  }
  return false;
}
