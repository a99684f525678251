import { ERROR_SCHEMA } from './schemas/urns.js';

// RFC 7644 §3.12: each scimType belongs to exactly one HTTP status.
const SCIM_TYPE_STATUS = {
  invalidFilter: 400,
  tooMany: 400,
  uniqueness: 409,
  mutability: 400,
  invalidSyntax: 400,
  invalidPath: 400,
  noTarget: 400,
  invalidValue: 400,
  invalidVers: 400,
  sensitive: 403,
} as const;

export type ScimType = keyof typeof SCIM_TYPE_STATUS;
type PlainStatus = 400 | 401 | 403 | 404 | 405 | 409 | 412 | 413 | 415 | 429 | 500 | 501 | 503;

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimType;
  detail: string;
}

/** The one error type of the SCIM layer; the error handler turns it into an RFC 7644 §3.12 body. */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType?: ScimType;

  private constructor(status: number, detail: string, scimType?: ScimType) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
  }

  /** An error with a scimType; the status is the one RFC 7644 assigns to that type. */
  static of(scimType: ScimType, detail: string): ScimError {
    return new ScimError(SCIM_TYPE_STATUS[scimType], detail, scimType);
  }

  /** An error with no scimType (404, 401, 412, 413, 500, ...). */
  static status(status: PlainStatus, detail: string): ScimError {
    return new ScimError(status, detail);
  }

  static notFound(resource: string, id: string): ScimError {
    return new ScimError(404, `${resource} ${JSON.stringify(id)} not found`);
  }

  toBody(): ScimErrorBody {
    const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(this.status), detail: this.message };
    if (this.scimType) body.scimType = this.scimType;
    return body;
  }
}
