import { Type, type TObject } from '@fastify/type-provider-typebox';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { dryRun, dryRunPage } from '../../services/dry-run.js';
import { Nullable, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';

// `?dryRun=true` on every admin write that can change access or policy (the routes whose config
// says `dryRun: true`): the write runs as it would and is rolled back at its commit step
// (src/services/dry-run.ts); the answer is what it would change instead of its result.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is a write that can change access or policy, and accepts ?dryRun=true. */
    dryRun?: boolean;
  }
}

const SimulatedPolicy = Nullable(
  Type.Object({
    policyId: Uuid,
    name: Type.String(),
    version: Type.Integer(),
    source: Type.Union([Type.Literal('rule'), Type.Literal('fallback')]),
  }),
);

export const Simulation = Type.Object(
  {
    dryRun: Type.Literal(true),
    events: Type.Array(Type.Object({ type: Type.String(), count: Type.Integer() }), { description: 'The audit events the write would record, by type, derived ones included' }),
    totals: Type.Object({
      users: Type.Integer({ description: 'Users whose effective permissions or effective policy would change' }),
      accessChangedUsers: Type.Integer({ description: 'What the real write reports in x-access-changed-users' }),
      policyChangedUsers: Type.Integer({ description: 'What the real write reports in x-policy-changed-users' }),
      permissions: Type.Array(Type.Object({ key: Type.String(), gained: Type.Integer(), lost: Type.Integer() }), { description: 'Per permission: how many users would gain and lose it' }),
      policies: Type.Array(Type.Object({ policyId: Uuid, name: Type.String(), gained: Type.Integer(), lost: Type.Integer() }), {
        description: 'Per policy: how many users it would start and stop applying to',
      }),
    }),
    users: Type.Array(
      Type.Object({
        userId: Uuid,
        userName: Nullable(Type.String()),
        displayName: Nullable(Type.String()),
        permissionsBefore: Type.Array(Type.String()),
        permissionsAfter: Type.Array(Type.String()),
        gained: Type.Array(Type.String()),
        lost: Type.Array(Type.String()),
        rolesBefore: Type.Array(Uuid, { description: "Ids of the roles the user holds of their own (directly or through groups; not the default role)" }),
        rolesAfter: Type.Array(Uuid),
        policyBefore: SimulatedPolicy,
        policyAfter: SimulatedPolicy,
        policyChanged: Type.Boolean(),
      }),
      { description: 'The affected users, by userName then id, a page at a time' },
    ),
    nextCursor: Nullable(Type.String({ description: 'Pass as cursor, with the same request, for the next page of users' })),
  },
  { $id: 'Simulation', title: 'Simulation' },
);

export const DryRunQuery = {
  dryRun: Type.Optional(Type.Boolean({ description: 'Write nothing: answer 200 with the Simulation of what the write would change' })),
  cursor: Type.Optional(Type.String({ maxLength: 2000, description: "A dry run's nextCursor: the next page of its users" })),
  limit: Defaulted(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: "A dry run's users per page" })),
};

const DRY_RUN_NOTE =
  'With `?dryRun=true` nothing is written and no event is recorded: the answer is 200 with a `Simulation` (per affected user, permissions gained and lost and the effective policy before and after; totals per permission and per policy).';

/** Adds ?dryRun=true to the write routes that declare it. */
export function installDryRun(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.config?.dryRun) return;
    const schema = (route.schema ??= {});
    const query = schema.querystring as TObject | undefined;
    schema.querystring = Type.Object({ ...(query?.properties ?? {}), ...DryRunQuery });
    schema.description = schema.description ? `${schema.description} ${DRY_RUN_NOTE}` : DRY_RUN_NOTE;
    const handler = route.handler as RouteHandlerMethod;
    route.handler = async function (request, reply) {
      const { dryRun: asked, limit, cursor } = request.query as { dryRun?: boolean; limit: number; cursor?: string };
      if (asked !== true) return handler.call(this, request, reply);
      const simulation = await dryRun(dryRunPage(limit, cursor), () => Promise.resolve(handler.call(this, request, reply)));
      // Not the route's own response schema, which describes the real write's result.
      return reply.code(200).serializer(JSON.stringify).send(simulation);
    };
  });
}


