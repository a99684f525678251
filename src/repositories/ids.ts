import { sql, type RawBuilder } from 'kysely';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else cannot name a row (and must not reach a uuid column as SQL). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A uuid[] parameter, sent as one array literal (cheaper than pg's per-element quoting, and the
 * same on PGlite). Callers validate ids first, so a malformed one here is a bug.
 */
export function uuidArray(ids: readonly string[]): RawBuilder<string[]> {
  const malformed = ids.find((id) => !isUuid(id));
  if (malformed !== undefined) throw new Error(`not a uuid: ${JSON.stringify(malformed)}`);
  return sql<string[]>`cast(${`{${ids.join(',')}}`} as uuid[])`;
}

/** A bigint[] parameter of safe integers, as one array literal. */
export function bigintArray(values: readonly number[]): RawBuilder<number[]> {
  if (!values.every(Number.isSafeInteger)) throw new Error('not a safe integer');
  return sql<number[]>`cast(${`{${values.join(',')}}`} as bigint[])`;
}
