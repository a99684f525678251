import { Type, type FastifyPluginAsyncTypebox, type TSchema } from '@fastify/type-provider-typebox';
import { Attribute, Declaration, Literals, ResourceTypes } from '../../scim/schemas/declaration.js';
import { adminAudit } from '../../plugins/admin-auth.js';
import * as scimSchemas from '../../services/scim-schemas.service.js';
import { DateTime } from './access-schemas.js';
import { errors } from './schemas.js';
import { Defaulted } from './validator.js';

// SCIM extension schemas the workspace declares (RFC 7643 §3.3, attributes as in §7), its policy
// for attributes nobody declared, and the tally of such attributes that clients sent.

const tags = ['SCIM schemas'];

const Extension = Type.Object(
  {
    urn: Type.String(),
    name: Type.String(),
    description: Type.String(),
    resourceTypes: ResourceTypes,
    attributes: Type.Array(Attribute),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'ScimExtensionSchema' },
);

const UrnParams = Type.Object({ urn: Type.String({ minLength: 1, maxLength: 256, description: 'The schema URN, URL-encoded' }) });
const Force = Type.Object({
  force: Defaulted(Type.Boolean({ default: false, description: 'Proceed although stored values would lose their declaration (they are kept)' })),
});
const Policy = Literals(['store', 'reject'] as const, 'store: keep attributes nobody declared verbatim (returned, not filterable) and count them; reject: 400 invalidValue naming them');
const ScimSettings = Type.Object({ unknownAttributes: Policy }, { additionalProperties: false, title: 'ScimSettings' });
const UnknownAttribute = Type.Object(
  { resourceType: Type.String(), name: Type.String(), requests: Type.Integer(), firstSeenAt: DateTime, lastSeenAt: DateTime },
  { title: 'ScimUnknownAttribute' },
);

const CHANGE_NOTE =
  'Stored values are never deleted: values left without a declaration stay in the resources and are returned verbatim. ' +
  'A change that would leave values undeclared (an attribute removed, retyped or renamed; a resource type dropped) answers 409 unless force=true; it is audited with the counts.';

const json = (schema: TSchema) => ({ 200: schema, ...errors() });

const scimSchemasRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/scim/schemas',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'Declared SCIM extension schemas', response: json(Type.Array(Extension)) } },
    async (request) => scimSchemas.listExtensions(app.db, request.admin.workspaceId),
  );

  app.get(
    '/scim/schemas/:urn',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'One declared extension schema', params: UrnParams, response: { 200: Extension, ...errors(404) } } },
    async (request) => scimSchemas.getExtension(app.db, request.admin.workspaceId, request.params.urn),
  );

  app.put(
    '/scim/schemas/:urn',
    {
      config: { adminAccess: 'manage' },
      schema: {
        tags,
        summary: 'Declare an extension schema, or replace its declaration',
        description: `The extension appears in /Schemas and in the resource types' schemaExtensions; its values are validated, stored, returned, PATCHed, filtered and sorted like core attributes. ${CHANGE_NOTE}`,
        params: UrnParams,
        querystring: Force,
        body: Declaration,
        response: { 200: Extension, 201: Extension, ...errors(400, 409) },
      },
    },
    async (request, reply) => {
      const { view, created } = await scimSchemas.putExtension(app.db, adminAudit(request), { ...request.body, urn: request.params.urn }, { force: request.query.force });
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.delete(
    '/scim/schemas/:urn',
    {
      config: { adminAccess: 'manage' },
      schema: { tags, summary: 'Remove a declared extension schema', description: CHANGE_NOTE, params: UrnParams, querystring: Force, response: { 204: Type.Null({ description: 'Removed' }), ...errors(404, 409) } },
    },
    async (request, reply) => {
      await scimSchemas.deleteExtension(app.db, adminAudit(request), request.params.urn, { force: request.query.force });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/scim/settings',
    { config: { adminAccess: 'read' }, schema: { tags, summary: 'What happens to attributes no schema declares', response: json(ScimSettings) } },
    async (request) => scimSchemas.getScimSettings(app.db, request.admin.workspaceId),
  );

  app.patch(
    '/scim/settings',
    {
      config: { adminAccess: 'manage' },
      schema: { tags, summary: 'Choose store or reject for attributes no schema declares', body: ScimSettings, response: { 200: ScimSettings, ...errors(400) } },
    },
    async (request) => scimSchemas.updateScimSettings(app.db, adminAudit(request), request.body),
  );

  app.get(
    '/scim/unknown-attributes',
    {
      config: { adminAccess: 'read' },
      schema: { tags, summary: 'Attributes clients sent that no schema declares', description: 'One row per resource type and attribute path, with how many requests stored a new value for it.', response: json(Type.Array(UnknownAttribute)) },
    },
    async (request) => scimSchemas.listUnknownAttributes(app.db, request.admin.workspaceId),
  );
};

export default scimSchemasRoutes;
