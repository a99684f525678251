// Value rules shared by the parser (validating comparison values) and the in-memory matcher
// (reading stored values), so both sides agree on what a dateTime or a "present" value is.

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/i;

/**
 * An xsd:dateTime (RFC 7643 §2.3.5) normalised so PostgreSQL and JavaScript read it alike:
 * upper-case designators, and `Z` appended when no offset is given (a value without an offset
 * would otherwise be read in the database session's time zone). Undefined when invalid, including
 * impossible calendar dates such as February 30, which `Date.parse` would silently roll over.
 */
export function normalizeDateTime(value: string): string | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offset = m[8]?.toUpperCase() ?? 'Z';
  const lastOfMonth = new Date(0);
  lastOfMonth.setUTCFullYear(year, month, 0); // Date.UTC would read years below 100 as 19xx
  const daysInMonth = lastOfMonth.getUTCDate();
  const validOffset = offset === 'Z' || (Number(offset.slice(1, 3)) <= 14 && Number(offset.slice(4)) <= 59);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || !validOffset) return undefined;
  return `${value.slice(0, 10)}T${value.slice(11, 19)}${m[7] ?? ''}${offset}`;
}

/** RFC 7643 §2.5: unassigned, null, "" and [] (and {} for a complex value) all mean "no value". */
export function hasValue(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
