import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

/** The OpenAPI document is generated from the route schemas: served at /openapi.json, browsable at /docs. */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'codex-scim-bridge',
          version: '0.1.0',
          description: 'SCIM 2.0 provisioning (RFC 7643/7644) and the admin API that turns IdP groups into Codex access.',
        },
        components: {
          securitySchemes: {
            scimBearer: { type: 'http', scheme: 'bearer', description: 'SCIM provisioning token (codex-scim token create --scope scim)' },
          },
        },
        security: [{ scimBearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
