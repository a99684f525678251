import type { FastifyRequest } from 'fastify';

/** The credential of an `Authorization: Bearer <credential>` header (RFC 6750 §2.1), if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
