import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessConflictError, AccessNotFoundError, AccessValidationError } from '../../access/errors.js';
import { PERMISSION_KEY } from '../../access/validate.js';
import { clientClosed, DATABASE_UNAVAILABLE, isDatabaseUnavailable, logClientClosed, unavailable } from '../../plugins/request-errors.js';
import { TokenError, TokenNotFoundError } from '../../services/tokens.service.js';
import { ScimError } from '../../scim/errors.js';
import { AdminAuthError, DomainError, pointerOf, type DomainErrorKind, type Problem } from '../../services/admin-errors.js';
import { NAME_PATTERN, NO_CONTROL_PATTERN } from './schemas.js';

// The admin scope's one error handler: RFC 9457 `application/problem+json` with `errors[]` naming
// each problem by JSON pointer. Domain errors carry a kind, never a status; the status is chosen
// here. The first version's members (`statusCode`, `error`, `message`, `field`) stay in the body as
// RFC 9457 extension members, so clients written against it keep working. Unexpected errors
// become a 500 whose details stay in the log.

export interface AdminErrorBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Problem[];
  statusCode: number;
  error: string;
  message: string;
  field?: string;
}

const STATUS_OF: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  precondition_failed: 412,
  precondition_required: 428,
};

interface SchemaError {
  instancePath?: string;
  schemaPath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const firstString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;

/** `/permissions/codex_local` → `permissions.codex_local`; a missing or unknown property is appended. */
function fieldOf(error: SchemaError): string | undefined {
  const segments = (error.instancePath ?? '').split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  // TypeBox: requiredProperties / additionalProperties arrays; Ajv: missingProperty / additionalProperty.
  const child =
    error.keyword === 'required'
      ? firstString(error.params?.requiredProperties ?? error.params?.missingProperty)
      : error.keyword === 'additionalProperties'
        ? firstString(error.params?.additionalProperties ?? error.params?.additionalProperty)
        : undefined;
  if (child !== undefined) segments.push(child);
  return segments.length > 0 ? segments.join('.') : undefined;
}

/** What a failed pattern means, for the patterns people type against; others say "must match pattern". */
const PATTERN_RULES = new Map<unknown, string>([
  [PERMISSION_KEY.source, 'must be 1–64 characters of a-z, 0-9 and _, starting with a letter (e.g. codex_local)'],
  [NAME_PATTERN, 'must not be blank, start or end with spaces, or contain control characters'],
  [NO_CONTROL_PATTERN, 'must not contain control characters'],
]);

/** One sentence for the first failing value; TypeBox reports a failed union as one error per branch. */
function describe(errors: SchemaError[]): { field?: string; detail: string } {
  const first = errors[0] ?? {};
  const field = fieldOf(first);
  if (first.keyword === 'required') return { field, detail: 'is required' };
  const rule = first.keyword === 'pattern' ? PATTERN_RULES.get(first.params?.pattern) : undefined;
  if (rule) return { field, detail: rule };
  if (first.keyword === 'additionalProperties' || (first.keyword === 'boolean' && first.schemaPath?.endsWith('/additionalProperties'))) {
    return { field: field ?? fieldOf({ ...first, keyword: 'additionalProperties' }), detail: 'is not a known property' };
  }
  const samePath = errors.filter((e) => e.instancePath === first.instancePath);
  const allowed = samePath.flatMap((e) => (e.keyword === 'const' ? [String(e.params?.allowedValue)] : e.keyword === 'enum' ? ((e.params?.allowedValues as unknown[]) ?? []).map(String) : []));
  if (allowed.length > 0) {
    const nullable = samePath.some((e) => e.keyword === 'type' && e.params?.type === 'null');
    return { field, detail: `must be one of ${allowed.join(', ')}${nullable ? ' or null' : ''}` };
  }
  const nullable = samePath.some((e) => e.keyword === 'type' && e.params?.type === 'null');
  return { field, detail: `${first.message ?? 'is not valid'}${nullable && first.keyword !== 'type' ? ' (or be null)' : ''}` };
}

function validationError(error: FastifyError): AdminErrorBody {
  const { field, detail } = describe((error.validation ?? []));
  const where = error.validationContext === 'querystring' ? 'query parameter' : error.validationContext === 'params' ? 'path parameter' : 'field';
  const message = field ? `${where} ${field} ${detail}` : `${error.validationContext ?? 'request'} ${detail}`;
  return body(400, message, field === undefined ? [] : [{ pointer: pointerOf(field), detail: message }]);
}

/** A dotted field back from a pointer, for the first version's `field` member. */
function fieldOfPointer(pointer: string): string {
  return pointer.replace(/^\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function body(status: number, detail: string, problems: readonly Problem[] = []): AdminErrorBody {
  const title = STATUS_CODES[status] ?? 'Error';
  const out: AdminErrorBody = { type: 'about:blank', title, status, detail, statusCode: status, error: title, message: detail };
  if (problems.length > 0) {
    out.errors = [...problems];
    out.field = fieldOfPointer(problems[0]!.pointer);
  }
  return out;
}

export function toAdminErrorBody(error: FastifyError | Error): AdminErrorBody {
  if (error instanceof DomainError) return body(STATUS_OF[error.kind], error.message, error.problems);
  if (error instanceof AdminAuthError) return body(error.statusCode, error.message);
  if (error instanceof AccessValidationError) return body(400, `${error.field} ${error.message}`, [{ pointer: pointerOf(error.field), detail: error.message }]);
  if (error instanceof AccessNotFoundError) return body(404, error.message);
  if (error instanceof TokenNotFoundError) return body(404, error.message);
  if (error instanceof TokenError) return body(400, error.message);
  // A SCIM use-case run through the admin API (a dry run of a SCIM request): the status it would answer.
  if (error instanceof ScimError && error.status < 500) return body(error.status, error.scimType ? `${error.scimType}: ${error.message}` : error.message);
  if (error instanceof AccessConflictError) return body(409, error.message, error.field ? [{ pointer: pointerOf(error.field), detail: error.message }] : []);
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return validationError(fastifyError);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return body(413, 'Request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return body(415, 'Send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return body(400, 'Request body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return body(400, 'Request body is not valid JSON');
  }
  // Only the framework's own request errors carry a 4xx status; anything else thrown is ours and
  // unexpected (a SyntaxError from service code is a bug, not the client's bad JSON).
  const status = fastifyError.code?.startsWith('FST_') ? fastifyError.statusCode : undefined;
  if (typeof status === 'number' && status >= 400 && status < 500) return body(status, error.message);
  if (isDatabaseUnavailable(error)) return body(503, DATABASE_UNAVAILABLE);
  return body(500, 'Internal server error');
}

export function installAdminErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (clientClosed(request, reply, error)) return logClientClosed(request, error);
    const out = toAdminErrorBody(error);
    if (out.status === 503) unavailable(request, reply, error);
    else if (out.status >= 500) request.log.error({ err: error }, 'unhandled error');
    else request.log.info({ status: out.status, field: out.field, detail: out.detail }, 'admin API error');
    if (out.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="admin"');
    return reply.code(out.status).type('application/problem+json; charset=utf-8').send(out);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/problem+json; charset=utf-8').send(body(404, `No admin endpoint ${request.method} ${request.url.split('?')[0]}`)),
  );
}
