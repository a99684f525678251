import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';

/**
 * Request bodies of the SCIM scope. RFC 7644 §3.1: clients send application/scim+json; Okta
 * sometimes sends application/json; both parse as JSON. Some clients send a Content-Type on every
 * request, so an empty body is "no body" whatever its type (a DELETE with
 * `Content-Type: application/scim+json` is a plain DELETE); a route that needs a body then refuses
 * the missing one itself. A non-empty body of any other type is 415.
 */
export function installScimBodyParsers(app: FastifyInstance): void {
  // Fastify's own parser refuses __proto__ and constructor.prototype keys (prototype poisoning).
  const strictJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  const parseJson = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => {
    if (body.trim() === '') return done(null, undefined);
    void strictJson(request, body, (error, value) => done(error ? ScimError.of('invalidSyntax', 'Request body is not valid JSON') : null, value));
  };
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body: string | Buffer, done) => {
    if (body.length === 0) return done(null, undefined);
    done(ScimError.status(415, 'Send the body as application/scim+json or application/json'));
  });
}
