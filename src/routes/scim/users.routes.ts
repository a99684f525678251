import type { FastifyPluginAsync } from 'fastify';
import { parseListQuery } from '../../scim/list-query.js';
import * as usersService from '../../services/users.service.js';
import { listResponse, projectionOf, searchParameters, sendResource } from './responses.js';
import { idParams, listQuerystring, patchBody, projectionQuerystring, resourceBody, searchBody, type ListQuerystring, type ProjectionQuery } from './route-schemas.js';

// RFC 7644 §3 operations on /Users. Handlers stay thin: parse, call the service, shape the reply.

const tags = ['SCIM Users'];
type IdRoute = { Params: { id: string }; Querystring: ProjectionQuery; Headers: { 'if-match'?: string } };

const usersRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Querystring: ProjectionQuery }>(
    '/',
    { schema: { tags, summary: 'Create a user', body: resourceBody, querystring: projectionQuerystring } },
    async (request, reply) => sendResource(reply, request.scim.schemas.user, await usersService.createUser(request.scim, request.body), projectionOf(request.query), 201),
  );

  app.get<{ Querystring: ListQuerystring }>('/', { schema: { tags, summary: 'List or filter users', querystring: listQuerystring } }, async (request) => {
    const query = parseListQuery(request.query, request.scim.maxResults);
    const { totalResults, resources } = await usersService.listUsers(request.scim, query);
    return listResponse(request.scim.schemas.user, query, totalResults, resources);
  });

  app.post('/.search', { schema: { tags, summary: 'Search users (RFC 7644 §3.4.3)', body: searchBody } }, async (request, reply) => {
    const query = parseListQuery(searchParameters(request.body), request.scim.maxResults);
    const { totalResults, resources } = await usersService.listUsers(request.scim, query);
    return reply.code(200).send(listResponse(request.scim.schemas.user, query, totalResults, resources));
  });

  app.get<IdRoute>('/:id', { schema: { tags, summary: 'Get a user', params: idParams, querystring: projectionQuerystring } }, async (request, reply) =>
    sendResource(reply, request.scim.schemas.user, await usersService.getUser(request.scim, request.params.id), projectionOf(request.query)),
  );

  app.put<IdRoute>('/:id', { schema: { tags, summary: 'Replace a user', params: idParams, querystring: projectionQuerystring, body: resourceBody } }, async (request, reply) => {
    const user = await usersService.replaceUser(request.scim, request.params.id, request.body, request.headers['if-match']);
    return sendResource(reply, request.scim.schemas.user, user, projectionOf(request.query));
  });

  app.patch<IdRoute>('/:id', { schema: { tags, summary: 'Modify a user (RFC 7644 §3.5.2)', params: idParams, querystring: projectionQuerystring, body: patchBody } }, async (request, reply) => {
    const user = await usersService.patchUser(request.scim, request.params.id, request.body, request.headers['if-match']);
    return sendResource(reply, request.scim.schemas.user, user, projectionOf(request.query));
  });

  app.delete<IdRoute>('/:id', { schema: { tags, summary: 'Delete a user', params: idParams } }, async (request, reply) => {
    await usersService.deleteUser(request.scim, request.params.id, request.headers['if-match']);
    return reply.code(204).send();
  });
};

export default usersRoutes;
