// What PATCH reads from a value selection filter beyond matching it (matchesFilter does that):
// the value an equality filter describes, and the member ids a members filter names.

import { ScimError } from '../errors.js';
import type { FilterNode } from '../filter.js';
import type { JsonObject } from '../resource.js';

/**
 * The value a filter of `eq` terms joined by `and` describes (`type eq "work"` → `{type: "work"}`),
 * used to create the value when add/replace selects none. Undefined for any other filter.
 */
export function equalityTemplate(filter: FilterNode): JsonObject | undefined {
  const template: JsonObject = {};
  const collect = (node: FilterNode): boolean => {
    if (node.op === 'and') return node.filters.every(collect);
    if (node.op !== 'eq' || node.attr.subAttribute === undefined) return false;
    const name = node.attr.subAttribute.name;
    if (name in template && template[name] !== node.value) return false;
    template[name] = node.value;
    return true;
  };
  return collect(filter) ? template : undefined;
}

/**
 * The member ids a members filter names: `value eq "id"` terms, optionally joined by `or`
 * (Okta sends one id, other clients several). Any other member filter would have to be evaluated
 * against the member list, which a PATCH must never read.
 */
export function memberIdsOfFilter(filter: FilterNode, pathText: string): string[] {
  const ids = new Set<string>();
  const collect = (node: FilterNode): void => {
    if (node.op === 'or') return node.filters.forEach(collect);
    if (node.op === 'eq' && node.attr.subAttribute?.name === 'value' && typeof node.value === 'string') {
      ids.add(node.value);
      return;
    }
    throw ScimError.of(
      'invalidFilter',
      `Unsupported members filter in ${JSON.stringify(pathText)}: members are selected only by value eq "<user id>" terms, optionally joined by "or"`,
    );
  };
  collect(filter);
  return [...ids];
}
