import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';
import { clientClosed, DATABASE_UNAVAILABLE, isDatabaseUnavailable, logClientClosed, unavailable } from './request-errors.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** Maps anything thrown in the SCIM scope onto an RFC 7644 §3.12 error; 500s never leak details. */
export function toScimError(error: FastifyError | Error): ScimError {
  if (error instanceof ScimError) return error;
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ScimError.status(413, 'Request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ScimError.status(415, 'Send application/scim+json or application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ScimError.of('invalidSyntax', 'Request body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ScimError.of('invalidSyntax', 'Request body is not valid JSON');
  }
  if (fastifyError.validation) return validationError(fastifyError);
  if (fastifyError.statusCode === 429) return ScimError.status(429, 'Too many requests; retry after the time in Retry-After');
  if (fastifyError.code === 'FST_ERR_BAD_URL') return ScimError.of('invalidSyntax', 'The request URL is not valid (bad percent-encoding)');
  if (isDatabaseUnavailable(error)) return ScimError.status(503, DATABASE_UNAVAILABLE);
  return ScimError.status(500, 'Internal server error');
}

/**
 * Route-schema failures. The SCIM route schemas only check the shape of the envelope (a body that is
 * an object, query parameters of the right type); say which part was wrong in SCIM's words rather
 * than the validator's.
 */
function validationError(error: FastifyError): ScimError {
  const context = error.validationContext ?? 'request';
  if (context === 'body') return ScimError.of('invalidSyntax', 'The request body must be a JSON object');
  const [first] = error.validation ?? [];
  const where = first?.instancePath ? first.instancePath.replace(/^\//, '') : context;
  return ScimError.of('invalidValue', `Invalid ${context} parameter "${where}": ${first?.message ?? 'not accepted'}`);
}

export function installScimErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (clientClosed(request, reply, error)) return logClientClosed(request, error);
    const scimError = toScimError(error);
    if (scimError.status === 503) unavailable(request, reply, error);
    else if (scimError.status >= 500) request.log.error({ err: error }, 'unhandled error');
    else request.log.info({ status: scimError.status, scimType: scimError.scimType, detail: scimError.message }, 'SCIM error');
    if (scimError.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="scim"');
    return reply.code(scimError.status).type(SCIM_CONTENT_TYPE).send(scimError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const body = ScimError.status(404, `No SCIM endpoint ${request.method} ${request.url.split('?')[0]}`).toBody();
    return reply.code(404).type(SCIM_CONTENT_TYPE).send(body);
  });
}
