import { ScimError } from './errors.js';

// RFC 7644 §3.4.2: the query parameters of a list or .search request, validated and clamped.

export interface ListQuery {
  filter?: string;
  /** 1-based, as in the protocol. */
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder: 'ascending' | 'descending';
  attributes: string[];
  excludedAttributes: string[];
}

export interface RawListQuery {
  filter?: unknown;
  startIndex?: unknown;
  count?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw ScimError.of('invalidValue', `${name} must be a string`);
  return value;
}

function optionalInteger(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number)) throw ScimError.of('invalidValue', `${name} must be an integer, got ${JSON.stringify(value)}`);
  return number;
}

/** Comma-separated (query string) or array (.search body) attribute lists. */
export function attributeList(name: string, value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || items.some((item) => typeof item !== 'string')) {
    throw ScimError.of('invalidValue', `${name} must be a comma-separated list of attribute names`);
  }
  return (items as string[]).map((item) => item.trim()).filter((item) => item.length > 0);
}

export function parseListQuery(raw: RawListQuery, maxResults: number): ListQuery {
  // §3.4.2.4: startIndex < 1 is interpreted as 1; a negative count as 0; count above the
  // server's maximum is reduced to it (announced as filter.maxResults).
  const startIndex = Math.max(1, optionalInteger('startIndex', raw.startIndex) ?? 1);
  const count = Math.min(maxResults, Math.max(0, optionalInteger('count', raw.count) ?? maxResults));
  const sortOrder = optionalString('sortOrder', raw.sortOrder) ?? 'ascending';
  if (sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw ScimError.of('invalidValue', `sortOrder must be "ascending" or "descending", got ${JSON.stringify(sortOrder)}`);
  }
  return {
    filter: optionalString('filter', raw.filter),
    startIndex,
    count,
    sortBy: optionalString('sortBy', raw.sortBy),
    sortOrder,
    attributes: attributeList('attributes', raw.attributes),
    excludedAttributes: attributeList('excludedAttributes', raw.excludedAttributes),
  };
}
