import type { Expression, SqlBool } from 'kysely';
import type { ListQuery } from '../scim/list-query.js';
import type { WithTotal } from '../repositories/users.repository.js';

/**
 * The total and the page of a SCIM list (RFC 7644 §3.4.2.4). With a filter, one statement reads
 * the page and counts the matches (`count(*) over ()`), so the filter is evaluated once and total
 * and page come from one snapshot; a second statement counts only when the page comes back empty
 * past the first result. Without a filter the two stay apart: counting a workspace's users is an
 * index scan, and the page alone stops after `count` rows of the index.
 */
export async function listPage<R>(
  query: ListQuery,
  where: Expression<SqlBool> | undefined,
  count: () => Promise<number>,
  page: (withTotal: boolean) => Promise<WithTotal<R>[]>,
): Promise<{ totalResults: number; rows: R[] }> {
  if (!where || query.count === 0) {
    const totalResults = await count();
    if (query.count === 0 || query.startIndex > totalResults) return { totalResults, rows: [] };
    return { totalResults, rows: await page(false) };
  }
  const rows = await page(true);
  const first = rows[0];
  const totalResults = first ? Number(first.total_results) : query.startIndex > 1 ? await count() : 0;
  return { totalResults, rows: rows.map(({ total_results: _total, ...row }) => row as R) };
}
