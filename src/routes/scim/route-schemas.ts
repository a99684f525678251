// JSON Schemas shared by the SCIM routes: they document the endpoints in the OpenAPI document.
// Resource bodies are validated by the schema-driven normaliser in src/scim/, which produces
// SCIM errors with the right scimType, so the route schemas accept any JSON object here.

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'Server-assigned resource id' } },
  required: ['id'],
} as const;

export const listQuerystring = {
  type: 'object',
  properties: {
    filter: { type: 'string', description: 'RFC 7644 §3.4.2.2 filter, e.g. userName eq "ada@example.com"' },
    startIndex: { type: 'string', description: '1-based index of the first result' },
    count: { type: 'string', description: 'Page size (at most filter.maxResults)' },
    sortBy: { type: 'string' },
    sortOrder: { type: 'string', enum: ['ascending', 'descending'] },
    attributes: { type: 'string', description: 'Comma-separated attributes to return' },
    excludedAttributes: { type: 'string', description: 'Comma-separated attributes to leave out' },
  },
} as const;

export const projectionQuerystring = {
  type: 'object',
  properties: {
    attributes: listQuerystring.properties.attributes,
    excludedAttributes: listQuerystring.properties.excludedAttributes,
  },
} as const;

export const resourceBody = { type: 'object', additionalProperties: true, description: 'A SCIM resource (RFC 7643)' } as const;
export const patchBody = { type: 'object', additionalProperties: true, description: 'A SCIM PatchOp message (RFC 7644 §3.5.2)' } as const;
export const searchBody = { type: 'object', additionalProperties: true, description: 'A SCIM SearchRequest message (RFC 7644 §3.4.3)' } as const;

export interface ProjectionQuery {
  attributes?: string;
  excludedAttributes?: string;
}

export interface ListQuerystring extends ProjectionQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  sortBy?: string;
  sortOrder?: string;
}
