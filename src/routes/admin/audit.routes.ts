import { Readable } from 'node:stream';
import accepts from '@fastify/accepts';
import { Type, type FastifyPluginAsyncTypebox, type TSchema } from '@fastify/type-provider-typebox';
import type { Config } from '../../config/index.js';
import { adminAudit } from '../../plugins/admin-auth.js';
import { DEFAULT_WINDOW_LIST, exportWindow, listExportFiles, MAX_WINDOW_LIST, WINDOW_SIZE } from '../../services/audit-export.service.js';
import * as auditLog from '../../services/audit-log.service.js';
import * as auditQuery from '../../services/audit-query.service.js';
import { getRetention, MAX_RETENTION_DAYS, setRetention } from '../../services/audit-retention.service.js';
import { verifierFromKey } from '../../audit/signed-note.js';
import { Cursor, errors, GroupRefParam, Nullable, UserRef, Uuid } from './schemas.js';
import { Defaulted } from './validator.js';

// The audit trail for auditors (issues 5, 11): events with filters, histories, point-in-time
// answers, verification, signed checkpoints with inclusion and consistency proofs, JSONL export
// and the retention setting. Readable by the compliance and owner roles only — a Codex Admin
// administers Codex but does not read the audit trail. Listings seal what has committed first,
// so they show every change made before the request.

const tags = ['Audit'];

const DateTimeParam = Type.String({ format: 'date-time', description: 'RFC 3339, e.g. 2026-10-01T00:00:00Z' });
const Limit = Type.Integer({ minimum: 1, maximum: auditQuery.MAX_PAGE, default: auditQuery.DEFAULT_PAGE, description: 'Page size' });
const Order = Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'By seq (commit order); default asc' });
const Types = Type.String({
  maxLength: 2000,
  description: 'Comma-separated event types; `group.*` stands for every type of that prefix (e.g. group.member_added,access.changed)',
});

const Actor = Type.Object(
  { type: Type.String({ description: 'scim, admin, system or cli' }), id: Type.String(), display: Type.Optional(Type.String()) },
  { title: 'AuditActor' },
);
const AnyObject = Type.Object({}, { additionalProperties: true });

const AuditEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Stable event id (UUIDv7)' }),
    seq: Type.Integer({ description: 'Insert order: the order of commits for any one group or user; gaps are normal' }),
    occurredAt: Type.String({ format: 'date-time' }),
    type: Type.String({ description: 'e.g. group.member_added, access.changed' }),
    actor: Actor,
    requestId: Nullable(Type.String()),
    target: Type.Object({ type: Type.String(), id: Type.String() }),
    data: AnyObject,
    causeId: Nullable(Type.String({ description: 'The event that caused this one (access.changed → the membership/role/mapping change)' })),
    leafIndex: Nullable(Type.Integer({ description: "The event's leaf in the workspace's Merkle log (GET /audit/events/{id}/proof)" })),
    prevHash: Nullable(Type.String({ description: 'Old hash chain (events before the Merkle log only)' })),
    hash: Nullable(Type.String({ description: 'Old hash chain (events before the Merkle log only)' })),
  },
  { title: 'AuditEvent' },
);

const EventPage = Type.Object(
  { items: Type.Array(AuditEvent), nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page' })) },
  { title: 'AuditEventPage' },
);

const HistoryBasis = Type.Object(
  {
    historyStartsAt: Nullable(Type.String({ format: 'date-time', description: 'Earliest instant answerable (after a retention purge); null: from the beginning' })),
    checkpointSeq: Nullable(Type.Integer({ description: 'The retention checkpoint the replay starts from' })),
    firstEventAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { title: 'AuditHistoryBasis' },
);

const EventFilters = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'occurred at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'occurred before' })),
  type: Type.Optional(Types),
  order: Type.Optional(Order),
  limit: Defaulted(Limit),
  cursor: Type.Optional(Cursor),
};

const VerifyReport = Type.Object(
  {
    workspaceId: Type.String(),
    ok: Type.Boolean(),
    checked: Type.Integer({ description: 'Sealed events checked against their leaves' }),
    firstBroken: Type.Optional(
      Type.Object({
        seq: Nullable(Type.Integer()),
        id: Nullable(Type.String()),
        reason: Type.String({
          description: 'leaf_mismatch, tree_mismatch, events_missing, checkpoint_mismatch, or for the old hash chain prev_hash_mismatch, hash_mismatch, head_mismatch',
        }),
      }),
    ),
    tree: Type.Object({ size: Type.Integer(), rootHash: Nullable(Type.String()), signed: Type.Boolean() }),
    anchor: Type.Object({ seq: Type.Integer(), hash: Type.String() }, { description: 'Where the old hash chain starts (moved by retention purges)' }),
    checkpoint: Nullable(
      Type.Object({
        ok: Type.Boolean(),
        throughSeq: Type.Integer(),
        members: Type.Integer(),
        access: Type.Integer(),
        problem: Type.Optional(Type.String()),
      }),
    ),
  },
  { title: 'AuditVerifyReport' },
);

const TreeHead = Type.Object(
  {
    treeSize: Type.Integer(),
    rootHash: Type.String({ description: 'base64 SHA-256 (RFC 9162)' }),
    checkpoint: Type.String({ description: 'The C2SP tlog-checkpoint, as a C2SP signed note when the service signs' }),
    signed: Type.Boolean(),
  },
  { title: 'AuditTreeHead' },
);

const ExportFile = Type.Object(
  {
    id: Type.String({ description: 'The UTC hour, e.g. 2026-11-21T10Z' }),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
    events: Type.Integer(),
    complete: Type.Boolean({ description: 'No event can still land in this file' }),
    path: Type.String({ description: 'Download path' }),
  },
  { title: 'AuditExportFile' },
);

const Retention = Type.Object(
  {
    retentionDays: Nullable(Type.Integer({ description: 'Days events are kept; null: forever' })),
    source: Type.Union([Type.Literal('workspace'), Type.Literal('service'), Type.Literal('default')], {
      description: "workspace: this workspace's setting; service: AUDIT_RETENTION_DAYS; default: keep everything",
    }),
  },
  { title: 'AuditRetention' },
);

const gone = { 410: Type.Ref('AdminError', { description: 'The instant lies before the history the retention purge kept' }) };
const withErrors = (...statuses: Array<400 | 404 | 409>): Record<number, TSchema> => errors(...statuses);

const splitTypes = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(',').map((t) => t.trim()).filter((t) => t !== '');
const date = (value: string | undefined): Date | undefined => (value === undefined ? undefined : new Date(value));

const auditRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const audit = { adminAccess: 'audit' as const };
  const seal = app.auditLog.options;
  await app.register(accepts);
  // Listings and histories page sealed events: seal what has committed before answering.
  // (Every route of this module reads the log; the group history is also open to codex-admins.)
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config.adminAccess === 'audit' || request.routeOptions.config.adminAccess === 'read') await app.auditLog.seal();
  });

  app.get(
    '/audit/events',
    {
      config: audit,
      schema: {
        tags,
        summary: 'Audit events, filtered, a page at a time',
        description:
          'In seq order (the order they happened). `userId` matches events targeting the user and member events naming it; ' +
          '`groupId` events targeting the group (its members included) and mapping events naming it. Cursors are bound to the filters.',
        querystring: Type.Object({
          ...EventFilters,
          userId: Type.Optional(Uuid),
          groupId: Type.Optional(Uuid),
          actor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Actor id: a SCIM token id, an admin subject, a CLI user, or system' })),
          actorType: Type.Optional(Type.Union([Type.Literal('scim'), Type.Literal('admin'), Type.Literal('system'), Type.Literal('cli')])),
        }),
        response: { 200: EventPage, ...withErrors(400) },
      },
    },
    async (request) => {
      const q = request.query;
      return auditQuery.listEvents(app.db, request.admin.workspaceId, {
        from: date(q.from),
        to: date(q.to),
        types: splitTypes(q.type),
        userId: q.userId,
        groupId: q.groupId,
        actorId: q.actor,
        actorType: q.actorType,
        order: q.order,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  app.get(
    '/users/:user/history',
    {
      config: audit,
      schema: {
        tags,
        summary: "A user's history: lifecycle, memberships, access changes",
        description: 'The user by id (also after it was deleted), or by userName or email while it exists.',
        params: Type.Object({ user: UserRef }),
        querystring: Type.Object(EventFilters),
        response: { 200: Type.Object({ userId: Type.String(), ...EventPage.properties }, { title: 'AuditUserHistory' }), ...withErrors(400, 404, 409) },
      },
    },
    async (request) => {
      const q = request.query;
      return auditQuery.userHistory(app.db, request.admin.workspaceId, request.params.user, {
        from: date(q.from),
        to: date(q.to),
        types: splitTypes(q.type),
        order: q.order,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  app.get(
    '/groups/:id/history',
    {
      // A group's own slice of the trail: codex-admins, who manage what groups grant, read it too.
      config: { adminAccess: 'read' },
      schema: {
        tags,
        summary: "A group's history: lifecycle, members added and removed, mappings",
        params: Type.Object({ id: GroupRefParam }),
        querystring: Type.Object(EventFilters),
        response: { 200: Type.Object({ groupId: Type.String(), ...EventPage.properties }, { title: 'AuditGroupHistory' }), ...withErrors(400) },
      },
    },
    async (request) => {
      const q = request.query;
      return auditQuery.groupHistory(app.db, request.admin.workspaceId, request.params.id, {
        from: date(q.from),
        to: date(q.to),
        types: splitTypes(q.type),
        order: q.order,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  app.get(
    '/groups/:id/members/as-of',
    {
      config: audit,
      schema: {
        tags,
        summary: 'Members of a group at an instant, from recorded history',
        description:
          'Replays the group.member_added / group.member_removed events up to `at` onto the retention checkpoint; the current tables are not consulted, ' +
          'so deleted groups and users are answered too. 410 when `at` lies before the history kept by retention.',
        params: Type.Object({ id: GroupRefParam }),
        querystring: Type.Object({ at: DateTimeParam, limit: Defaulted(Limit), cursor: Type.Optional(Cursor) }),
        response: {
          200: Type.Object(
            {
              at: Type.String({ format: 'date-time' }),
              group: Type.Object({
                id: Type.String(),
                displayName: Nullable(Type.String()),
                state: Type.Union([Type.Literal('not_created'), Type.Literal('exists'), Type.Literal('deleted'), Type.Literal('unknown')]),
              }),
              members: Type.Array(
                Type.Object({
                  userId: Type.String(),
                  since: Type.String({ format: 'date-time' }),
                  eventId: Nullable(Type.String({ description: 'The group.member_added event; null when purged (the checkpoint vouches for it)' })),
                }),
              ),
              nextCursor: Nullable(Type.String()),
              basis: HistoryBasis,
            },
            { title: 'AuditGroupMembersAsOf' },
          ),
          ...withErrors(400, 404),
          ...gone,
        },
      },
    },
    async (request) =>
      auditQuery.groupMembersAsOf(app.db, request.admin.workspaceId, request.params.id, new Date(request.query.at), {
        cursor: request.query.cursor,
        limit: request.query.limit,
      }),
  );

  app.get(
    '/users/:user/effective-permissions/as-of',
    {
      config: audit,
      schema: {
        tags,
        summary: "A user's effective permissions at an instant, from recorded history",
        description:
          'The `after` of the last access.changed event up to `at` (else the retention checkpoint, else nothing held), the change that caused it, ' +
          'and the groups the user was in. 410 when `at` lies before the history kept by retention.',
        params: Type.Object({ user: UserRef }),
        querystring: Type.Object({ at: DateTimeParam }),
        response: {
          200: Type.Object(
            {
              at: Type.String({ format: 'date-time' }),
              user: Type.Object({
                id: Type.String(),
                userName: Nullable(Type.String()),
                state: Type.Union([Type.Literal('not_created'), Type.Literal('active'), Type.Literal('deactivated'), Type.Literal('deleted'), Type.Literal('unknown')]),
              }),
              granted: Type.Array(Type.String()),
              since: Nullable(Type.String({ format: 'date-time' })),
              source: Type.Union([Type.Literal('event'), Type.Literal('checkpoint'), Type.Literal('none')]),
              changedBy: Nullable(
                Type.Object({
                  eventId: Type.String(),
                  actor: Actor,
                  cause: Nullable(
                    Type.Object({ id: Type.String(), type: Nullable(Type.String()), targetType: Nullable(Type.String()), targetId: Nullable(Type.String()) }),
                  ),
                }),
              ),
              groups: Type.Array(Type.Object({ groupId: Type.String(), since: Type.String({ format: 'date-time' }), eventId: Nullable(Type.String()) })),
              groupsTruncated: Type.Boolean(),
              basis: HistoryBasis,
            },
            { title: 'AuditEffectivePermissionsAsOf' },
          ),
          ...withErrors(400, 404, 409),
          ...gone,
        },
      },
    },
    async (request) => auditQuery.effectivePermissionsAsOf(app.db, request.admin.workspaceId, request.params.user, new Date(request.query.at)),
  );

  app.get(
    '/audit/verify',
    {
      config: audit,
      schema: {
        tags,
        summary: "Verify the workspace's Merkle log, old hash chain and retention checkpoint",
        description:
          'Checks every sealed event against its leaf, the leaves against the root and the latest checkpoint (and its signature), the old chain from its anchor, ' +
          'and that every missing event was recorded as purged. Reads every event: minutes for tens of millions.',
        response: { 200: VerifyReport, ...withErrors() },
      },
    },
    async (request) => auditQuery.verifyAudit(app.db, request.admin.workspaceId, { verifier: seal.signer && verifierFromKey(seal.signer.verifierKey) }),
  );

  app.get(
    '/audit/heads/latest',
    {
      config: audit,
      schema: {
        tags,
        summary: "The workspace's latest signed checkpoint",
        description:
          'A C2SP tlog-checkpoint (origin line naming the bridge and workspace, tree size, base64 root hash) signed as a C2SP signed note with Ed25519. ' +
          'Accept: text/plain gives the note as is (what `codex-scim audit witness` and transparency-log tools store); JSON gives it with its parsed fields.',
        response: { 200: TreeHead, ...withErrors() },
      },
    },
    async (request, reply) => {
      const head = await auditLog.latestHead(app.db, request.admin.workspaceId, seal);
      if (request.accepts().type(['application/json', 'text/plain']) === 'text/plain') return reply.type('text/plain; charset=utf-8').send(head.checkpoint as unknown as typeof head);
      return head;
    },
  );

  app.get(
    '/audit/keys',
    {
      config: audit,
      schema: {
        tags,
        summary: 'Verifier keys of the audit checkpoints',
        description: 'Every key that signed a checkpoint here (name+keyid+base64, as Go\'s sumdb/note reads them), the configured one first: keys rotated out stay listed for the heads they signed.',
        response: {
          200: Type.Object(
            {
              keys: Type.Array(
                Type.Object({ verifierKey: Type.String(), name: Type.String(), firstUsedAt: Type.String({ format: 'date-time' }), lastUsedAt: Type.String({ format: 'date-time' }), current: Type.Boolean() }),
              ),
            },
            { title: 'AuditVerifierKeys' },
          ),
          ...withErrors(),
        },
      },
    },
    async () => ({ keys: await auditLog.listVerifierKeys(app.db, seal) }),
  );

  app.get(
    '/audit/events/:id/proof',
    {
      config: audit,
      schema: {
        tags,
        summary: "An event's inclusion proof (RFC 9162 §2.1.3)",
        description: 'Proves the event is leaf `leafIndex` of the tree of `treeSize` leaves (default: the latest checkpoint) whose root is `rootHash`.',
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({ treeSize: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: {
          200: Type.Object(
            {
              eventId: Type.String(),
              leafIndex: Type.Integer(),
              leafHash: Type.String(),
              treeSize: Type.Integer(),
              rootHash: Type.String(),
              proof: Type.Array(Type.String(), { description: 'base64 hashes, leaf side first' }),
            },
            { title: 'AuditInclusionProof' },
          ),
          ...withErrors(400, 404),
        },
      },
    },
    async (request) => auditLog.inclusionProof(app.db, request.admin.workspaceId, request.params.id, request.query.treeSize, seal),
  );

  app.get(
    '/audit/consistency',
    {
      config: audit,
      schema: {
        tags,
        summary: 'A consistency proof between two tree sizes (RFC 9162 §2.1.4)',
        description: 'Proves the tree of `from` leaves is a prefix of the tree of `to` leaves (default: the latest checkpoint): nothing witnessed earlier was changed or removed.',
        querystring: Type.Object({ from: Type.Integer({ minimum: 0 }), to: Type.Optional(Type.Integer({ minimum: 0 })) }),
        response: {
          200: Type.Object(
            { from: Type.Integer(), to: Type.Integer(), fromRootHash: Type.String(), toRootHash: Type.String(), proof: Type.Array(Type.String()) },
            { title: 'AuditConsistencyProof' },
          ),
          ...withErrors(400),
        },
      },
    },
    async (request) => auditLog.consistencyProof(app.db, request.admin.workspaceId, request.query.from, request.query.to, seal),
  );

  app.get(
    '/audit/exports',
    {
      config: audit,
      schema: {
        tags,
        summary: 'List the JSONL export files (UTC hours) after a timestamp',
        description:
          `One file per UTC hour (${WINDOW_SIZE}) that holds events. Pass the \`end\` of the last file you processed as \`after\`; ` +
          'only complete files are listed unless includeIncomplete=true. Records carry a stable `id`: de-duplicate on it.',
        querystring: Type.Object({
          after: Type.Optional(Type.String({ format: 'date-time', description: 'List files ending after this instant' })),
          limit: Defaulted(Type.Integer({ minimum: 1, maximum: MAX_WINDOW_LIST, default: DEFAULT_WINDOW_LIST, description: 'Hours scanned per call' })),
          includeIncomplete: Type.Optional(Type.Boolean()),
        }),
        response: {
          200: Type.Object(
            {
              windowSize: Type.String({ description: 'ISO 8601 duration of a file' }),
              files: Type.Array(ExportFile),
              nextAfter: Nullable(Type.String({ format: 'date-time', description: 'Pass as after for the following files' })),
              completeThrough: Type.String({ format: 'date-time', description: 'Files ending at or before this instant are complete' }),
            },
            { title: 'AuditExportFileList' },
          ),
          ...withErrors(400),
        },
      },
    },
    async (request) =>
      listExportFiles(app.db, request.admin.workspaceId, {
        after: date(request.query.after),
        limit: request.query.limit,
        includeIncomplete: request.query.includeIncomplete,
        pathPrefix: `${app.prefix}/audit/exports/`,
      }),
  );

  app.get(
    '/audit/exports/:file',
    {
      config: audit,
      schema: {
        tags,
        summary: 'Download one export file (JSONL, streamed)',
        description:
          'One JSON record per line: id, type, timestamp, workspace {id, name}, actor, target, details, causeId, requestId, seq, leafIndex, leafHash, prevHash, hash; ' +
          'the last line is {"checkpoint": {treeSize, rootHash, note, signed, complement}}, against which `codex-scim audit verify FILE` checks the file offline. ' +
          'The X-Audit-Window-Complete header says whether the file can still grow.',
        params: Type.Object({ file: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}Z\\.jsonl$', description: 'e.g. 2026-11-21T10Z.jsonl' }) }),
        response: {
          200: { description: 'JSONL, one event per line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          ...withErrors(400),
        },
      },
    },
    async (request, reply) => {
      const id = request.params.file.replace(/\.jsonl$/, '');
      const file = await exportWindow(app.db, request.admin.workspaceId, id, { seal });
      reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-${id}.jsonl"`)
        .header('x-audit-window-complete', String(file.complete))
        .header('cache-control', file.complete ? 'private, max-age=3600' : 'no-store');
      // Byte mode with a small buffer: the generator reads the next page only when the client has taken this one.
      const body = Readable.from(file.body, { objectMode: false, highWaterMark: 64 * 1024 });
      // Fastify pipes a stream as is; the schema documents the body as the text it becomes.
      return reply.send(body as unknown as string);
    },
  );

  app.get(
    '/audit/retention',
    {
      config: audit,
      schema: { tags, summary: 'How long audit events are kept', response: { 200: Retention, ...withErrors() } },
    },
    async (request) => getRetention(app.db, request.admin.workspaceId, config.auditRetentionDays),
  );

  app.put(
    '/audit/retention',
    {
      config: { adminAccess: 'owner' },
      schema: {
        tags,
        summary: 'Set how long audit events are kept',
        description:
          'retentionDays: whole days (the scheduled purge removes older events, keeping the chain verifiable from a checkpoint), null to keep everything, ' +
          "or 'default' to follow the service's AUDIT_RETENTION_DAYS. Recorded as workspace.settings_changed.",
        body: Type.Object(
          { retentionDays: Type.Union([Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS }), Type.Null(), Type.Literal('default')]) },
          { additionalProperties: false, title: 'SetAuditRetention' },
        ),
        response: { 200: Retention, ...withErrors(400) },
      },
    },
    async (request) => setRetention(app.db, adminAudit(request), request.body.retentionDays, config.auditRetentionDays),
  );
};

export default auditRoutes;
