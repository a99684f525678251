import { isDeepStrictEqual } from 'node:util';
import type { UserRow } from '../db/types.js';
import type { UserGroupRow } from '../repositories/users.repository.js';
import { etagOf } from '../scim/etag.js';
import { USER_SCHEMA } from '../scim/schemas/index.js';

// Row ↔ SCIM User representation (RFC 7643 §4.1): the stored resource plus what the server owns.

export type ScimResource = Record<string, unknown>;

export function userLocation(baseUrl: string, id: string): string {
  return `${baseUrl}/Users/${id}`;
}

export function toUserResource(row: UserRow, groups: UserGroupRow[], baseUrl: string): ScimResource {
  const resource = row.resource;
  return {
    schemas: schemasOf(USER_SCHEMA, resource),
    id: row.id,
    ...resource,
    groups: groups.map((g) => ({ value: g.group_id, $ref: `${baseUrl}/Groups/${g.group_id}`, display: g.display_name, type: 'direct' })),
    meta: resourceMeta('User', row, userLocation(baseUrl, row.id)),
  };
}

/**
 * RFC 7643 §3: the core schema and each extension the resource holds values of. Extension values
 * are stored under their URN, and no attribute name has a colon, so those keys are the URNs.
 */
export function schemasOf(core: string, resource: Record<string, unknown>): string[] {
  return [core, ...Object.keys(resource).filter((key) => key.includes(':'))];
}

/** RFC 7643 §3.1 `meta`, from the columns every resource table has. */
export function resourceMeta(
  resourceType: 'User' | 'Group',
  row: { created_at: Date | string; updated_at: Date | string; version: number },
  location: string,
) {
  return {
    resourceType,
    created: new Date(row.created_at).toISOString(),
    lastModified: new Date(row.updated_at).toISOString(),
    location,
    version: etagOf(row.version),
  };
}

/** The columns kept beside the resource document for uniqueness and indexing. */
export function userColumns(resource: Record<string, unknown>) {
  return {
    user_name: String(resource.userName),
    external_id: typeof resource.externalId === 'string' ? resource.externalId : null,
    active: resource.active !== false,
    resource,
  };
}

/** Top-level attributes whose value differs, with both values, for the audit trail. */
export function changedAttributes(before: Record<string, unknown>, after: Record<string, unknown>) {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!isDeepStrictEqual(before[key], after[key])) {
      changes[key] = { from: before[key] ?? null, to: after[key] ?? null };
    }
  }
  return changes;
}
