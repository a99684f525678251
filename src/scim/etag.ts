import { ScimError } from './errors.js';

// RFC 7644 §3.14: meta.version is served as a weak ETag and checked on If-Match.

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** Throws 412 unless the If-Match header (absent, `*` or a list of tags) matches the version. */
export function checkIfMatch(header: string | undefined, version: number): void {
  if (header === undefined || header.trim() === '*') return;
  const current = String(version);
  const matches = header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .some((tag) => tag === current);
  if (!matches) throw ScimError.status(412, `If-Match ${header} does not match the current version ${etagOf(version)}`);
}
