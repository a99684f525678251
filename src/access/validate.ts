// The rules of the access model's inputs, stated by its route schemas
// (src/routes/admin/access-schemas.ts); the key's pattern is also the migration's CHECK.

// Lower-case ASCII (the migration's CHECK): sorts identically in JavaScript and SQL, safe in URLs.
export const PERMISSION_KEY = /^[a-z][a-z0-9_]{0,63}$/;

export const MAX_NAME = 100;
export const MAX_DESCRIPTION = 1000;
export const MAX_GROUP_REFERENCE = 256;
