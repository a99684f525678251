import { Readable } from 'node:stream';
import type { Executor } from '../db/index.js';
import type { GroupRow } from '../db/types.js';
import { memberPage, type MemberRow } from '../repositories/groups.repository.js';
import { includesAttribute, projectResource, type ProjectionParams } from '../scim/projection.js';
import { GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, type ResourceTypeRef } from '../scim/schemas/index.js';
import { resourceMeta, schemasOf, type ScimResource } from './user-resource.js';

// Row ↔ SCIM Group representation (RFC 7643 §4.2). Members are never held in memory as a whole:
// a group of 100,000 members is written to the response in keyset-paged chunks.

const MEMBER_CHUNK = 5000;

export function groupLocation(baseUrl: string, id: string): string {
  return `${baseUrl}/Groups/${id}`;
}

/** The group without members (they are streamed separately when asked for). */
export function toGroupResource(row: GroupRow, baseUrl: string): ScimResource {
  return {
    schemas: schemasOf(GROUP_SCHEMA, row.resource),
    id: row.id,
    ...(row.resource),
    meta: resourceMeta('Group', row, groupLocation(baseUrl, row.id)),
  };
}

function memberObject(member: MemberRow, baseUrl: string) {
  return { value: member.user_id, $ref: `${baseUrl}/Users/${member.user_id}`, display: member.display_name ?? member.user_name, type: 'User' };
}

/** Which member sub-attributes the projection keeps (`members.value` keeps only value, ...). */
function memberKeys(projection: ProjectionParams): string[] {
  const sample = { value: 'v', $ref: 'r', display: 'd', type: 'User' };
  const projected = projectResource('Group', { schemas: [GROUP_SCHEMA], id: 'x', members: [sample] }, projection);
  const first = (projected.members as Record<string, unknown>[] | undefined)?.[0];
  return first ? Object.keys(first) : Object.keys(sample);
}

export interface GroupSerialization {
  /** The workspace's Group schema (declared extensions are projected like built-in attributes). */
  schema: ResourceTypeRef;
  db: Executor;
  baseUrl: string;
  projection: ProjectionParams;
}

/** Yields one group's JSON text, members streamed in chunks when the projection includes them. */
async function* groupJson(row: GroupRow, { db, baseUrl, projection, schema }: GroupSerialization): AsyncGenerator<string> {
  const head = JSON.stringify(projectResource(schema, toGroupResource(row, baseUrl), projection));
  if (!includesAttribute(schema, projection, 'members')) {
    yield head;
    return;
  }
  const keys = memberKeys(projection);
  yield `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"members":[`;
  let after: string | undefined;
  let first = true;
  for (;;) {
    const page = await memberPage(db, row.id, after, MEMBER_CHUNK);
    if (page.length === 0) break;
    const items = page.map((m) => {
      const member = memberObject(m, baseUrl) as Record<string, unknown>;
      return JSON.stringify(Object.fromEntries(keys.map((k) => [k, member[k]])));
    });
    yield (first ? '' : ',') + items.join(',');
    first = false;
    after = page[page.length - 1]!.user_id;
    if (page.length < MEMBER_CHUNK) break;
  }
  yield ']}';
}

export function groupStream(row: GroupRow, options: GroupSerialization): Readable {
  return Readable.from(groupJson(row, options), { objectMode: false });
}

export function groupListStream(rows: GroupRow[], totalResults: number, startIndex: number, options: GroupSerialization): Readable {
  async function* list(): AsyncGenerator<string> {
    const envelope = { schemas: [LIST_RESPONSE_SCHEMA], totalResults, startIndex, itemsPerPage: rows.length };
    yield `${JSON.stringify(envelope).slice(0, -1)},"Resources":[`;
    for (const [index, row] of rows.entries()) {
      if (index > 0) yield ',';
      yield* groupJson(row, options);
    }
    yield ']}';
  }
  return Readable.from(list(), { objectMode: false });
}
