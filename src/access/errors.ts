// Errors of the access services, typed so the admin API maps them without string matching:
// AccessValidationError → 400 with `field`, AccessNotFoundError → 404, AccessConflictError → 409.

export class AccessError extends Error {
  override name = 'AccessError';
}

/** The input is wrong; `field` names it as the caller sent it (`name`, `permissions.codex_local`). */
export class AccessValidationError extends AccessError {
  override name = 'AccessValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type AccessResource = 'user' | 'role' | 'permission' | 'mapping' | 'assignment' | 'workspace';

/** The resource a request names (in its path) does not exist in this workspace. */
export class AccessNotFoundError extends AccessError {
  override name = 'AccessNotFoundError';
  constructor(
    readonly resource: AccessResource,
    readonly id: string,
    message = `No ${resource} ${JSON.stringify(id)} in this workspace`,
  ) {
    super(message);
  }
}

/** The request contradicts the current state (a duplicate name, deleting the default role, …). */
export class AccessConflictError extends AccessError {
  override name = 'AccessConflictError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
