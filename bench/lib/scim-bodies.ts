// Group membership PATCH bodies exactly as the IdPs send them (see the replays in
// test/idp/okta/groups.json and test/idp/entra/groups.json).

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export type Idp = 'okta' | 'entra';
export type MemberChange = 'add' | 'remove';

export interface GroupRef {
  id: string;
  displayName: string;
}

/**
 * One member added or removed. Okta Group Push sends the rename op `{"op":"replace","value":{id,
 * displayName}}` with every membership update and removes by value path; Entra capitalises the op
 * and removes by value list.
 */
export function memberPatch(idp: Idp, change: MemberChange, group: GroupRef, userId: string, display?: string): unknown {
  if (idp === 'okta') {
    const rename = { op: 'replace', value: { id: group.id, displayName: group.displayName } };
    const member =
      change === 'add'
        ? { op: 'add', path: 'members', value: [{ value: userId, ...(display ? { display } : {}) }] }
        : { op: 'remove', path: `members[value eq "${userId}"]` };
    return { schemas: [PATCH_OP], Operations: [rename, member] };
  }
  return { schemas: [PATCH_OP], Operations: [{ op: change === 'add' ? 'Add' : 'Remove', path: 'members', value: [{ value: userId }] }] };
}

/** A PUT body that makes the group's members exactly `userIds` (RFC 7644 §3.5.1). */
export function groupPut(group: GroupRef, userIds: readonly string[]): unknown {
  return { schemas: [GROUP_SCHEMA], id: group.id, displayName: group.displayName, members: userIds.map((value) => ({ value })) };
}
