// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import { buildSerializer } from '../../src/plugins/serializers.js';

// The serializer cache shares a compiled function only where the result would be the same: the
// same response schema with the same schemas in scope.

const route = (schema: unknown) => ({ method: 'GET', url: '/x', httpStatus: '200', schema });
const item = (property: string) => ({ $id: 'Item', type: 'object', properties: { [property]: { type: 'string' } } });

t.test('the same schemas in another app get the function compiled first', async (t) => {
  const schema = { $ref: 'Item#' };
  const first = buildSerializer({ Item: item('name') })(route(schema));
  const again = buildSerializer({ Item: item('name') })(route({ $ref: 'Item#' }));
  t.equal(again, first, 'equal schemas, compiled once');
  t.equal(first({ name: 'a', other: 'dropped' }), '{"name":"a"}');
});

t.test('a $ref that means another schema in another scope is compiled again', async (t) => {
  const schema = { $ref: 'Item#' };
  const names = buildSerializer({ Item: item('name') })(route(schema));
  const titles = buildSerializer({ Item: item('title') })(route(schema));
  t.not(titles, names);
  t.equal(titles({ name: 'a', title: 'b' }), '{"title":"b"}');
  t.equal(names({ name: 'a', title: 'b' }), '{"name":"a"}');
});

t.test('another response schema in the same scope is compiled again', async (t) => {
  const scope = buildSerializer({});
  const a = scope(route({ type: 'object', properties: { a: { type: 'integer' } } }));
  const b = scope(route({ type: 'object', properties: { b: { type: 'integer' } } }));
  t.equal(a({ a: 1, b: 2 }), '{"a":1}');
  t.equal(b({ a: 1, b: 2 }), '{"b":2}');
});
