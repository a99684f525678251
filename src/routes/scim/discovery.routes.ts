import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../../config/index.js';
import { ScimError } from '../../scim/errors.js';
import { maxLengthOf } from '../../scim/resource.js';
import {
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  resourceType,
  type AttributeDef,
  type ResourceTypeDef,
  type SchemaDef,
} from '../../scim/schemas/index.js';
import type { ScimContext } from '../../services/context.js';

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

/**
 * An attribute as RFC 7643 §7 serves it. The string length limit is not a characteristic the RFC
 * defines, so it is stated in the description rather than as a field clients may not expect.
 */
function publishedAttribute(def: AttributeDef): Record<string, unknown> {
  const { maxLength: _maxLength, verbatim: _verbatim, subAttributes, ...characteristics } = def;
  const published: Record<string, unknown> = { ...characteristics };
  if (def.type === 'string' || def.type === 'reference' || def.type === 'binary') {
    const limit = `At most ${maxLengthOf(def)} characters.`;
    published.description = def.description ? `${def.description} ${limit}` : limit;
  }
  if (subAttributes) published.subAttributes = subAttributes.map(publishedAttribute);
  return published;
}

const schemaResource = (baseUrl: string) => (schema: SchemaDef) => ({
  schemas: [SCHEMA_SCHEMA],
  id: schema.id,
  name: schema.name,
  description: schema.description,
  attributes: schema.attributes.map(publishedAttribute),
  meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
});

const resourceTypes = (scim: ScimContext): ResourceTypeDef[] => [resourceType(scim.schemas.user), resourceType(scim.schemas.group)];

const resourceTypeResource = (baseUrl: string) => (type: ResourceTypeDef) => ({
  schemas: [RESOURCE_TYPE_SCHEMA],
  ...type,
  meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.id}` },
});

function listResponse(resources: unknown[]) {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}

/**
 * Discovery resources are read-only: RFC 7644 §4 answers other methods with 405. Refused in
 * onRequest, before the body is parsed, so the answer is 405 whatever body came with it.
 */
async function methodNotAllowed(_request: unknown, reply: FastifyReply) {
  reply.header('Allow', 'GET');
  throw ScimError.status(405, 'Discovery endpoints are read-only');
}

const discoveryRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const readOnly = (url: string) =>
    app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url, schema: { hide: true }, onRequest: methodNotAllowed, handler: methodNotAllowed });

  app.get('/ServiceProviderConfig', { schema: { tags, summary: 'Service provider configuration' } }, async (request) =>
    serviceProviderConfig(config, request.scim.baseUrl),
  );
  readOnly('/ServiceProviderConfig');

  app.get('/Schemas', { schema: { tags, summary: 'Supported schemas' } }, async (request) => listResponse(request.scim.schemas.all.map(schemaResource(request.scim.baseUrl))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', { schema: { tags, summary: 'One schema by URN' } }, async (request) => {
    const schema = request.scim.schemas.all.find((s) => s.id.toLowerCase() === request.params.id.toLowerCase());
    if (!schema) throw ScimError.notFound('Schema', request.params.id);
    return schemaResource(request.scim.baseUrl)(schema);
  });
  readOnly('/Schemas');
  readOnly('/Schemas/:id');

  app.get('/ResourceTypes', { schema: { tags, summary: 'Supported resource types' } }, async (request) =>
    listResponse(resourceTypes(request.scim).map(resourceTypeResource(request.scim.baseUrl))),
  );
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', { schema: { tags, summary: 'One resource type' } }, async (request) => {
    const type = resourceTypes(request.scim).find((t) => t.id.toLowerCase() === request.params.id.toLowerCase());
    if (!type) throw ScimError.notFound('ResourceType', request.params.id);
    return resourceTypeResource(request.scim.baseUrl)(type);
  });
  readOnly('/ResourceTypes');
  readOnly('/ResourceTypes/:id');
};

export default discoveryRoutes;
