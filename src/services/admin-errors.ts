// Errors of the admin API whose message is meant for the caller. The admin scope's error handler
// turns them into `{ statusCode, error, message, field? }`; anything else becomes a 500 whose
// details stay in the log.

export class AdminApiError extends Error {
  override name = 'AdminApiError';
  constructor(
    readonly statusCode: number,
    message: string,
    /** The request field at fault (400s), as a dotted path: `permissions.codex_local`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** 401 (no or bad credentials) or 403 (valid credentials, not allowed). */
export class AdminAuthError extends AdminApiError {
  override name = 'AdminAuthError';
  constructor(statusCode: 401 | 403, message: string) {
    super(statusCode, message);
  }
}

export const notFound = (what: string, ref: string): AdminApiError => new AdminApiError(404, `No ${what} ${JSON.stringify(ref)} in this workspace`);
export const badRequest = (field: string, message: string): AdminApiError => new AdminApiError(400, message, field);
