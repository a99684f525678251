import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  // Fastify's logger is pino, whose child loggers (request.log) have setBindings; its type omits it.
  interface FastifyBaseLogger {
    setBindings(bindings: Record<string, unknown>): void;
  }
}

/**
 * Names the authenticated caller on every later log line of the request, "request completed"
 * included: `scim-token:<id>` or `admin:<subject>`, never a secret.
 */
export function logActor(request: FastifyRequest, actor: string): void {
  request.log.setBindings({ actor });
}
