// @dialect-independent
import { Type } from '@fastify/type-provider-typebox';
import t from 'tap';
import { Limit } from '../../../src/routes/admin/schemas.js';
import { adminValidatorCompiler, Defaulted } from '../../../src/routes/admin/validator.js';

// The admin routes' validator: TypeBox's check, with the schemas' defaults filled in, so that a
// handler sees `limit` as 50 when the client left it out and never restates the default.

type Result = { value?: unknown; error?: Array<{ keyword: string; instancePath: string }> };
const compile = (schema: unknown, httpPart: string) => adminValidatorCompiler({ schema, httpPart, method: 'GET', url: '/x' } as never) as (value: unknown) => Result;

const Query = Type.Object({ limit: Defaulted(Limit), cursor: Type.Optional(Type.String()), dryRun: Type.Optional(Type.Boolean()) });

t.test('a left-out query parameter gets its default; a given one is converted and checked', async (t) => {
  const check = compile(Query, 'querystring');
  t.same(check({}).value, { limit: 50 });
  t.same(check({ limit: '7', dryRun: 'true' }).value, { limit: 7, dryRun: true }, 'query strings become their schema types');
  t.match(check({ limit: '0' }).error, [{ keyword: 'minimum', instancePath: '/limit' }]);
  t.match(check({ limit: 'many' }).error, [{ instancePath: '/limit' }]);
});

t.test('bodies get their defaults too, and unknown properties are refused', async (t) => {
  const Body = Type.Object({ key: Type.String(), baseline: Defaulted(Type.Boolean({ default: false })) }, { additionalProperties: false });
  const check = compile(Body, 'body');
  t.same(check({ key: 'k' }).value, { key: 'k', baseline: false });
  t.same(check({ key: 'k', baseline: true }).value, { key: 'k', baseline: true }, 'a given value is kept');
  t.match(check({ key: 'k', colour: 'red' }).error, [{ instancePath: '/colour' }]);
  t.match(check({ key: 'k', baseline: 'yes' }).error, [{ instancePath: '/baseline' }], 'a body is not converted');
});

t.test('Defaulted: optional in the document, and only for a schema with a default', async (t) => {
  t.notOk((Query as { required?: string[] }).required?.includes('limit'), 'limit is not required of the client');
  t.throws(() => Defaulted(Type.Integer()), /needs a schema with a default/);
});
