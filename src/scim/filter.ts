// SCIM filters (RFC 7644 §3.4.2.2) as pure code: parse and validate against the schemas, format,
// and evaluate value filters in memory. The SQL compiler lives in src/repositories/filter-sql.ts.
export * from './filter/ast.js';
export { matchesFilter } from './filter/matcher.js';
export { parseFilter, parsePath, resolveAttributePath } from './filter/parser.js';
export { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from './filter/tokenizer.js';
