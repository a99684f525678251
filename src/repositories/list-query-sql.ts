import { parseFilter } from '../scim/filter.js';
import type { ListQuery } from '../scim/list-query.js';
import type { ResourceTypeRef } from '../scim/schemas/index.js';
import { compileFilter, compileSort } from './filter-sql.js';
import type { PageRequest } from './users.repository.js';

/** The WHERE and ORDER BY of a SCIM list request (RFC 7644 §3.4.2), compiled to SQL. */
export function compileListQuery(kind: ResourceTypeRef, query: ListQuery): Pick<PageRequest, 'where' | 'orderBy'> {
  return {
    where: query.filter ? compileFilter(kind, parseFilter(kind, query.filter)) : undefined,
    orderBy: query.sortBy
      ? { expression: compileSort(kind, query.sortBy), direction: query.sortOrder === 'descending' ? 'desc' : 'asc' }
      : undefined,
  };
}
