import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../../config/index.js';
import { ScimError } from '../../scim/errors.js';
import {
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPES,
  RESOURCE_TYPE_SCHEMA,
  SCHEMAS,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
} from '../../scim/schemas/index.js';

// RFC 7644 §4 discovery endpoints, generated from the same schema data the server enforces.

const tags = ['SCIM discovery'];

function serviceProviderConfig(config: Config, baseUrl: string) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: 'https://github.com/codex-scim-bridge#readme',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: config.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A workspace-bound secret token created with `codex-scim token create --scope scim`, sent as Authorization: Bearer <token>.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

const schemaResource = (baseUrl: string) => (schema: (typeof SCHEMAS)[number]) => ({
  schemas: [SCHEMA_SCHEMA],
  ...schema,
  meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
});

const resourceTypeResource = (baseUrl: string) => (type: (typeof RESOURCE_TYPES)[number]) => ({
  schemas: [RESOURCE_TYPE_SCHEMA],
  ...type,
  meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.id}` },
});

function listResponse(resources: unknown[]) {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}

/** Discovery resources are read-only: RFC 7644 §4 answers other methods with 405. */
function methodNotAllowed(_request: unknown, reply: FastifyReply) {
  reply.header('Allow', 'GET');
  throw ScimError.status(405, 'Discovery endpoints are read-only');
}

const discoveryRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const readOnly = (url: string) => app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url, schema: { hide: true }, handler: methodNotAllowed });

  app.get('/ServiceProviderConfig', { schema: { tags, summary: 'Service provider configuration' } }, async (request) =>
    serviceProviderConfig(config, request.scim.baseUrl),
  );
  readOnly('/ServiceProviderConfig');

  app.get('/Schemas', { schema: { tags, summary: 'Supported schemas' } }, async (request) => listResponse(SCHEMAS.map(schemaResource(request.scim.baseUrl))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', { schema: { tags, summary: 'One schema by URN' } }, async (request) => {
    const schema = SCHEMAS.find((s) => s.id.toLowerCase() === request.params.id.toLowerCase());
    if (!schema) throw ScimError.notFound('Schema', request.params.id);
    return schemaResource(request.scim.baseUrl)(schema);
  });
  readOnly('/Schemas');
  readOnly('/Schemas/:id');

  app.get('/ResourceTypes', { schema: { tags, summary: 'Supported resource types' } }, async (request) =>
    listResponse(RESOURCE_TYPES.map(resourceTypeResource(request.scim.baseUrl))),
  );
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', { schema: { tags, summary: 'One resource type' } }, async (request) => {
    const type = RESOURCE_TYPES.find((t) => t.id.toLowerCase() === request.params.id.toLowerCase());
    if (!type) throw ScimError.notFound('ResourceType', request.params.id);
    return resourceTypeResource(request.scim.baseUrl)(type);
  });
  readOnly('/ResourceTypes');
  readOnly('/ResourceTypes/:id');
};

export default discoveryRoutes;
