import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { documentScimRoute, SCIM_DOC_SCHEMAS } from '../routes/scim/route-docs.js';

/** The OpenAPI document is generated from the route schemas: served at /openapi.json, browsable at /docs. */
export default fp(
  async (app) => {
    for (const schema of SCIM_DOC_SCHEMAS) app.addSchema(schema);
    await app.register(swagger, {
      // The SCIM routes accept any object (the normaliser validates); the document shows the real bodies.
      transform: ({ schema, url, route }) => ({
        schema: documentScimRoute(url, [route.method].flat()[0] ?? '', schema as Record<string, unknown>),
        url,
      }),
      // Shared schemas appear under their $id (AdminError) rather than def-0, def-1, ...
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'codex-scim-bridge',
          version: '0.1.0',
          description: 'SCIM 2.0 provisioning (RFC 7643/7644) and the admin API that turns IdP groups into Codex access.',
        },
        tags: [
          { name: 'SCIM discovery', description: 'RFC 7644 §4 service provider configuration, schemas and resource types (/scim/v2)' },
          { name: 'SCIM Users', description: 'RFC 7644 §3 provisioning of users (/scim/v2)' },
          { name: 'SCIM Groups', description: 'RFC 7644 §3 provisioning of groups and memberships (/scim/v2)' },
          { name: 'Users and groups', description: 'Admin API (/api/v1): read access to the provisioned users and groups' },
          { name: 'Permissions', description: 'Admin API: the permission catalogue of the workspace' },
          { name: 'Roles', description: 'Admin API: custom roles with allow / deny / inherit per permission' },
          { name: 'Mappings', description: 'Admin API: IdP group → role mappings' },
          { name: 'Assignments', description: 'Admin API: roles assigned directly to users, and the default role' },
          { name: 'Settings', description: 'Admin API: resolution strategy and permission baselines' },
          { name: 'Effective access', description: 'Admin API: what a user may do and why; who holds a permission' },
        ],
        components: {
          securitySchemes: {
            scimBearer: { type: 'http', scheme: 'bearer', description: 'SCIM provisioning token (codex-scim token create --scope scim)' },
            adminBearer: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description:
                'Admin JWT: either minted by the bridge (codex-scim token create --scope admin --role owner|codex-admin|compliance) ' +
                "or issued by the company's OpenID Connect provider for a provisioned user whose IdP groups grant an admin role.",
            },
            userBearer: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: "An end user's own access or ID token from the company's OpenID Connect provider (OIDC_*), matched to their SCIM user.",
            },
          },
        },
        // The SCIM default; every admin route declares adminBearer itself.
        security: [{ scimBearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
