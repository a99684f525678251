import { invalid } from './admin-errors.js';

// Keyset pages, the one way the admin API lists: a page is read with one row more than it shows,
// so the last page knows it is the last without a count, and the cursor is the last shown row's
// sort key, opaque to callers (base64url JSON). A cursor this API did not issue is a 400.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The rows to read for a page of `limit`. */
export const rowsToRead = (limit: number): number => limit + 1;

export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * The position a cursor names (`arity` strings or numbers, each accepted by `valid`), or
 * undefined without a cursor.
 */
export function decodeCursor(cursor: string | undefined, arity: number, valid: (position: Array<string | number>) => boolean = () => true): Array<string | number> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let position: unknown;
  try {
    position = /^[A-Za-z0-9_-]{1,2000}$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    position = undefined;
  }
  const parts = Array.isArray(position) && position.length === arity && position.every((p) => typeof p === 'string' || typeof p === 'number') ? (position) : undefined;
  if (!parts || !valid(parts)) throw invalid('cursor', 'cursor is not a cursor this API returned (nor one of the same query)');
  return parts;
}

/** The first `limit` of rows read with rowsToRead(limit), and the cursor after the last of them when more follow. */
export function keysetPage<R>(rows: readonly R[], limit: number, position: (row: R) => readonly (string | number)[]): { rows: R[]; nextCursor: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { rows: shown, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(position(last)) : null };
}
