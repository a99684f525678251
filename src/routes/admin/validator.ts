import { Type, type TSchema } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

// The admin routes' one shape validator: TypeBox's compiled check, as the type provider's own
// compiler does (unknown body properties are refused, where the app's Ajv would drop them; query
// and path values are converted to their schema types), and in addition the schemas' defaults
// are filled in, so a handler never restates one.

export const adminValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value) => {
    const filled = Value.Default(schema, httpPart === 'body' ? value : Value.Convert(schema, value));
    return check.Check(filled) ? { value: filled } : { error: check.Errors(filled) };
  };
};

/**
 * A property the client may leave out and the handler always has: optional in the schema (so in
 * the OpenAPI document), typed as present, because the compiler above fills in its default.
 */
export function Defaulted<T extends TSchema>(schema: T): T {
  if (!('default' in schema)) throw new Error('Defaulted() needs a schema with a default');
  return Type.Optional(schema);
}
