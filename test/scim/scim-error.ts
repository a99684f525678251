import type { ScimType } from '../../src/scim/errors.js';

interface ScimErrorMatch {
  name: 'ScimError';
  status: 400;
  scimType: ScimType;
  message?: RegExp;
}

/** What `t.throws` matches a 400 ScimError against: its scimType and, optionally, its detail. */
export function scimError(scimType: ScimType, detail?: RegExp): ScimErrorMatch {
  return detail ? { name: 'ScimError', status: 400, scimType, message: detail } : { name: 'ScimError', status: 400, scimType };
}
