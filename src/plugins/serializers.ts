import SerializerSelector from '@fastify/fast-json-stringify-compiler';

// Fastify's own response serializer compiler (fast-json-stringify), remembered per process. A
// compiled function depends only on the route's response schema and the schemas it may $ref, so a
// second app in the same process (the tests build hundreds) reuses the first one's functions
// instead of compiling them again, which was over half of an app's start-up; within one app, the
// error responses every route shares are compiled once.

type Serialize = SerializerSelector.Serializer;

const compileWithFastJsonStringify = SerializerSelector();
/**
 * By the schemas in scope, then by the response schema, both as text: Fastify hands each app copies
 * of the schemas added with addSchema, and some response schemas are built per route.
 */
const compiled = new Map<string, Map<string, Serialize>>();

export const buildSerializer: SerializerSelector.SerializerFactory = (externalSchemas, serializerOptions) => {
  const compile = compileWithFastJsonStringify(externalSchemas, serializerOptions);
  const scope = JSON.stringify([externalSchemas ?? {}, serializerOptions ?? {}]);
  const inScope = compiled.get(scope) ?? new Map<string, Serialize>();
  compiled.set(scope, inScope);
  return (route) => {
    const key = JSON.stringify(route.schema);
    let serialize = inScope.get(key);
    if (!serialize) {
      serialize = compile(route);
      inScope.set(key, serialize);
    }
    return serialize;
  };
};
