import type { FastifyReply } from 'fastify';
import { ScimError } from '../../scim/errors.js';
import { attributeList, type ListQuery } from '../../scim/list-query.js';
import { projectResource } from '../../scim/projection.js';
import { LIST_RESPONSE_SCHEMA, SEARCH_REQUEST_SCHEMA, type ResourceTypeRef } from '../../scim/schemas/index.js';
import type { ScimResource } from '../../services/user-resource.js';
import type { ProjectionQuery } from './route-schemas.js';

// Shaping of SCIM responses shared by the Users and Groups routes.

export interface Projection {
  attributes: string[];
  excludedAttributes: string[];
}

export function projectionOf(query: ProjectionQuery): Projection {
  return {
    attributes: attributeList('attributes', query.attributes),
    excludedAttributes: attributeList('excludedAttributes', query.excludedAttributes),
  };
}

/** A single resource with its ETag (RFC 7644 §3.14) and, on create, its Location (§3.3). */
export function sendResource(reply: FastifyReply, kind: ResourceTypeRef, resource: ScimResource, projection: Projection, status = 200) {
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  if (meta?.version) reply.header('ETag', meta.version);
  if (status === 201 && meta?.location) reply.header('Location', meta.location);
  return reply.code(status).send(projectResource(kind, resource, projection));
}

export function listResponse(kind: ResourceTypeRef, query: ListQuery, totalResults: number, resources: ScimResource[]) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex: query.startIndex,
    itemsPerPage: resources.length,
    Resources: resources.map((r) => projectResource(kind, r, query)),
  };
}

/** RFC 7644 §3.4.3: the body of POST /.search carries the list parameters. */
export function searchParameters(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ScimError.of('invalidSyntax', 'SearchRequest body must be a JSON object');
  const request = body as Record<string, unknown>;
  const schemas = request.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST_SCHEMA)) {
    throw ScimError.of('invalidSyntax', `SearchRequest must declare schemas ["${SEARCH_REQUEST_SCHEMA}"]`);
  }
  return request;
}
