// The PATCH engine of RFC 7644 §3.5.2, for Users and Groups. Pure: it takes the stored resource and
// the PatchOp body and returns the new stored resource (plus, for Groups, the membership changes to
// run). It works on a copy and validates the result like a PUT before returning, so a bad
// operation anywhere in the body throws and nothing is partially applied.

import { applyOperation, type ApplyContext } from './patch/apply.js';
import { planMemberOp, type MemberOp } from './patch/members.js';
import { parsePatchBody } from './patch/operations.js';
import { canonicalGroup, canonicalUser, type StoredResource } from './resource.js';
import type { ResourceSchema } from './schemas/index.js';

export type { MemberOp } from './patch/members.js';

export interface PatchContext {
  /** The id of the resource being patched; a path-less value may repeat it (Okta's group rename). */
  id: string;
  /** The workspace's schema of the resource type; the built-in one when absent. */
  schema?: ResourceSchema;
}

export interface GroupPatchPlan {
  resource: StoredResource;
  /** Membership changes in request order, for the service to apply as SQL in that order. */
  memberOps: MemberOp[];
}

export function applyUserPatch(resource: StoredResource, body: unknown, context: PatchContext): { resource: StoredResource } {
  const operations = parsePatchBody(body);
  const doc = structuredClone(resource);
  const schema = context.schema ?? 'User';
  const applyContext: ApplyContext = { kind: schema, id: context.id };
  for (const operation of operations) applyOperation(doc, operation, applyContext);
  // An attribute the operations removed (e.g. active) falls back like an omitted one in a PUT.
  return { resource: canonicalUser(doc, resource, schema) };
}

/**
 * Group attribute changes (displayName, externalId) apply to the resource; operations on `members`
 * never touch it and come back as ordered member operations instead.
 */
export function planGroupPatch(resource: StoredResource, body: unknown, context: PatchContext): GroupPatchPlan {
  const operations = parsePatchBody(body);
  const doc = structuredClone(resource);
  const memberOps: MemberOp[] = [];
  const schema = context.schema ?? 'Group';
  const applyContext: ApplyContext = {
    kind: schema,
    id: context.id,
    delegate: (op, target, value) => {
      if (target.attribute?.name !== 'members') return false;
      const memberOp = planMemberOp(op, target, value);
      if (memberOp !== undefined) memberOps.push(memberOp);
      return true;
    },
  };
  for (const operation of operations) applyOperation(doc, operation, applyContext);
  return { resource: canonicalGroup(doc, schema, resource), memberOps };
}
