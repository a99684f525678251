import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/index.js';

// The browser console at /console: the files `npm run build` writes to dist/console
// (its modules, styles and the chart library: nothing is loaded from elsewhere), with a strict
// content security policy, and /console/config.json telling it whether IdP sign-in is offered.
// It calls the admin API with the signed-in token like any other client.

const consolePlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const built = existsSync(join(config.consoleDir, 'index.html'));
  // The token endpoint of the IdP is called from the page during IdP sign-in.
  const issuerOrigin = config.oidc?.consoleClientId ? new URL(config.oidc.issuer).origin : '';
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${issuerOrigin}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', csp).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
    return payload;
  });
  app.get('/console/config.json', { schema: { hide: true } }, async () => ({
    oidc: config.oidc?.consoleClientId ? { issuer: config.oidc.issuer, clientId: config.oidc.consoleClientId, scopes: 'openid email profile' } : null,
  }));
  if (!built) {
    app.get('/console/*', { schema: { hide: true } }, async (_request, reply) => reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run npm run build.\n'));
    return;
  }
  // The router ignores trailing slashes, so /console and /console/ are this one route; the page's
  // relative URLs (./main.js) need the slash.
  const page = readFileSync(join(config.consoleDir, 'index.html'));
  app.get('/console', { schema: { hide: true } }, async (request, reply) => {
    const [path, query] = request.url.split('?');
    if (!path!.endsWith('/')) return reply.redirect(`/console/${query === undefined ? '' : `?${query}`}`);
    return reply.type('text/html; charset=utf-8').send(page);
  });
  await app.register(fastifyStatic, { root: config.consoleDir, prefix: '/console/', index: false, decorateReply: false, wildcard: true });
};

export default consolePlugin;
