// Group membership PATCH operations become an ordered list of member operations for the service to
// run as SQL. A group may have 100,000 members, so nothing here reads or rebuilds the member list:
// every operation costs in proportion to the ids it names.

import { memberIdsOf } from '../resource.js';
import type { PatchOpName } from './operations.js';
import { invalidPath, type PatchTarget } from './path.js';
import { memberIdsOfFilter } from './value-filter.js';

export type MemberOp =
  | { op: 'add'; userIds: string[] }
  | { op: 'remove'; userIds: string[] }
  | { op: 'removeAll' }
  | { op: 'replace'; userIds: string[] };

/**
 * Plans one operation on `members`; undefined when it changes nothing (an empty add or remove list).
 *
 * - add `members` + value list                     → add those ids (RFC 7644 §3.5.2.1)
 * - replace `members` + value list                 → replace the whole membership (§3.5.2.3)
 * - remove `members[value eq "a" or value eq "b"]` → remove those ids (§3.5.2.2)
 * - remove `members` + value list (Entra ID)       → remove exactly those ids. A strict reading of
 *   §3.5.2.2 ignores the value and empties the group; that has cost real customers their members.
 * - remove `members` without a value               → remove all members (§3.5.2.2)
 */
export function planMemberOp(op: PatchOpName, target: PatchTarget, value: unknown): MemberOp | undefined {
  if (target.subAttribute !== undefined) {
    throw invalidPath(target.text, 'member sub-attributes cannot be patched; add or remove members instead');
  }
  if (target.filter !== undefined) {
    if (op !== 'remove') throw invalidPath(target.text, `"${op}" takes the path "members" and a list of members as its value`);
    return nonEmpty('remove', memberIdsOfFilter(target.filter, target.text));
  }
  if (op === 'remove' && (value === undefined || value === null)) return { op: 'removeAll' };
  // A lone member object where a list is expected can only mean a list of one.
  const userIds = memberIdsOf(Array.isArray(value) || value === null ? value : [value], 'members');
  if (op === 'replace') return { op: 'replace', userIds };
  return nonEmpty(op, userIds);
}

function nonEmpty(op: 'add' | 'remove', userIds: string[]): MemberOp | undefined {
  return userIds.length > 0 ? { op, userIds } : undefined;
}
