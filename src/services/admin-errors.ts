// Errors the use-cases behind the admin API and the CLI throw: what went wrong in the domain's
// terms, never an HTTP status. The admin scope's one error handler (src/routes/admin/errors.ts)
// maps the kind to a status and an RFC 9457 problem; the CLI prints the message. Anything else
// is unexpected and becomes a 500 whose details stay in the log.

export type DomainErrorKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'precondition_failed' | 'precondition_required' | 'gone';

/** One thing wrong with the request, where: a JSON pointer into it (RFC 6901), e.g. `/permissions/codex_local`. */
export interface Problem {
  pointer: string;
  detail: string;
  /** For a document inside the request (a policy's TOML): where in it. */
  line?: number;
  key?: string;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** For `invalid`: every problem found, each with its pointer. */
    readonly problems: readonly Problem[] = [],
  ) {
    super(message);
  }
}

/** A dotted field path (`rules.0.groupId`) as a JSON pointer (`/rules/0/groupId`). */
export function pointerOf(field: string): string {
  return `/${field.split('.').map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

export const invalid = (field: string, message: string): DomainError => new DomainError('invalid', message, [{ pointer: pointerOf(field), detail: message }]);
export const notFound = (what: string, ref: string): DomainError => new DomainError('not_found', `No ${what} ${JSON.stringify(ref)} in this workspace`);
/** A request that contradicts what is stored; `field`, when given, is the part of the request at fault. */
export const conflict = (message: string, field?: string): DomainError =>
  new DomainError('conflict', message, field === undefined ? [] : [{ pointer: pointerOf(field), detail: message }]);
/** The caller may call the route but not act on this thing: a campaign they do not review, their own access. */
export const forbidden = (message: string): DomainError => new DomainError('forbidden', message);
export const preconditionFailed = (message: string): DomainError => new DomainError('precondition_failed', message);
export const preconditionRequired = (message: string): DomainError => new DomainError('precondition_required', message);

/** 401 (no or bad credentials) or 403 (valid credentials, not allowed): the edge's answer, not a domain error. */
export class AdminAuthError extends Error {
  override name = 'AdminAuthError';
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}
