import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GroupRow } from '../../db/types.js';
import { etagOf } from '../../scim/etag.js';
import { parseListQuery, type ListQuery } from '../../scim/list-query.js';
import { includesAttribute } from '../../scim/projection.js';
import { groupListStream, groupLocation, groupStream } from '../../services/group-resource.js';
import * as groupsService from '../../services/groups.service.js';
import { projectionOf, searchParameters, type Projection } from './responses.js';
import { idParams, listQuerystring, patchBody, projectionQuerystring, resourceBody, searchBody, type ListQuerystring, type ProjectionQuery } from './route-schemas.js';

// RFC 7644 §3 operations on /Groups. Group bodies are streamed: a group's members are written in
// chunks straight from the database, so a 100,000-member group never sits in memory whole.

const tags = ['SCIM Groups'];
type IdRoute = { Params: { id: string }; Querystring: ProjectionQuery; Headers: { 'if-match'?: string } };

function sendGroup(request: FastifyRequest, reply: FastifyReply, row: GroupRow, projection: Projection, status = 200) {
  reply.header('ETag', etagOf(row.version));
  if (status === 201) reply.header('Location', groupLocation(request.scim.baseUrl, row.id));
  return reply.code(status).send(groupStream(row, { db: request.scim.db, baseUrl: request.scim.baseUrl, projection, schema: request.scim.schemas.group }));
}

function sendList(request: FastifyRequest, reply: FastifyReply, query: ListQuery, totalResults: number, rows: GroupRow[]) {
  return reply.send(groupListStream(rows, totalResults, query.startIndex, { db: request.scim.db, baseUrl: request.scim.baseUrl, projection: query, schema: request.scim.schemas.group }));
}

const groupsRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Querystring: ProjectionQuery }>(
    '/',
    { schema: { tags, summary: 'Create a group', body: resourceBody, querystring: projectionQuerystring } },
    async (request, reply) => sendGroup(request, reply, await groupsService.createGroup(request.scim, request.body), projectionOf(request.query), 201),
  );

  app.get<{ Querystring: ListQuerystring }>('/', { schema: { tags, summary: 'List or filter groups', querystring: listQuerystring } }, async (request, reply) => {
    const query = parseListQuery(request.query, request.scim.maxResults);
    const { totalResults, rows } = await groupsService.listGroups(request.scim, query);
    return sendList(request, reply, query, totalResults, rows);
  });

  app.post('/.search', { schema: { tags, summary: 'Search groups (RFC 7644 §3.4.3)', body: searchBody } }, async (request, reply) => {
    const query = parseListQuery(searchParameters(request.body), request.scim.maxResults);
    const { totalResults, rows } = await groupsService.listGroups(request.scim, query);
    return sendList(request, reply, query, totalResults, rows);
  });

  app.get<IdRoute>('/:id', { schema: { tags, summary: 'Get a group', params: idParams, querystring: projectionQuerystring } }, async (request, reply) =>
    sendGroup(request, reply, await groupsService.getGroup(request.scim, request.params.id), projectionOf(request.query)),
  );

  app.put<IdRoute>('/:id', { schema: { tags, summary: 'Replace a group and its members', params: idParams, querystring: projectionQuerystring, body: resourceBody } }, async (request, reply) => {
    const row = await groupsService.replaceGroup(request.scim, request.params.id, request.body, request.headers['if-match']);
    return sendGroup(request, reply, row, projectionOf(request.query));
  });

  app.patch<IdRoute>(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Modify a group (RFC 7644 §3.5.2)',
        description:
          'Answers 200 with the group. Its members are included when `attributes` asks for them, or by default when the group has at most SCIM_PATCH_MEMBER_LIMIT members; a larger group answers 204 unless `attributes`/`excludedAttributes` say what to return.',
        params: idParams,
        querystring: projectionQuerystring,
        body: patchBody,
      },
    },
    async (request, reply) => {
      const row = await groupsService.patchGroup(request.scim, request.params.id, request.body, request.headers['if-match']);
      const projection = projectionOf(request.query);
      const asked = projection.attributes.length > 0 || projection.excludedAttributes.length > 0;
      // Never serialise a huge member list nobody asked for: RFC 7644 §3.5.2 allows 204.
      if (!asked && includesAttribute(request.scim.schemas.group, projection, 'members') && !(await groupsService.isSmallGroup(request.scim, row.id))) {
        reply.header('ETag', etagOf(row.version));
        return reply.code(204).send();
      }
      return sendGroup(request, reply, row, projection);
    },
  );

  app.delete<IdRoute>('/:id', { schema: { tags, summary: 'Delete a group', params: idParams } }, async (request, reply) => {
    await groupsService.deleteGroup(request.scim, request.params.id, request.headers['if-match']);
    return reply.code(204).send();
  });
};

export default groupsRoutes;
