import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import type { AuditContext, NewAuditEvent } from '../../src/audit/types.js';
import { appendAuditEvents, newAuditEventId } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { exportJsonl, exportWindow, listExportFiles, parseWindowId, windowId, type ExportRecord } from '../../src/services/audit-export.service.js';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';
import { addMembers, createGroup, createUser, patchGroup, sleep } from './helpers.js';
import { scaled } from '../helpers/db.js';

// The compliance export: hourly JSONL files listed after a timestamp, one record per event with
// a stable id; completeness only once no event can still land in a file; streaming in keyset
// pages with bounded read-ahead.

const HOUR = 3_600_000;
const ctx = await buildAdminTestApp(t);
const { db } = ctx.db;

/** The event records of an export (every line but the checkpoint trailer, which is checked to be last). */
const parseJsonl = (text: string): ExportRecord[] => {
  const lines = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExportRecord & { checkpoint?: unknown });
  if (!lines.pop()?.checkpoint) throw new Error('an export ends with its checkpoint line');
  if (lines.some((l) => l.checkpoint)) throw new Error('one checkpoint line, the last');
  return lines;
};

t.test('window ids are UTC hours', async (t) => {
  t.equal(windowId(new Date('2026-11-21T10:59:59.999Z')), '2026-11-21T10Z');
  t.same(parseWindowId('2026-11-21T10Z'), { start: new Date('2026-11-21T10:00:00Z'), end: new Date('2026-11-21T11:00:00Z') });
  for (const bad of ['2026-11-21T24Z', '2026-02-30T10Z', '2026-11-21T10', '2026-11-21T10:00Z', 'x']) t.equal(parseWindowId(bad), undefined, bad);
});

t.test('files list, download, record shape and de-duplication ids', async (t) => {
  const alice = await createUser(ctx, 'alice@example.com');
  const bob = await createUser(ctx, 'bob@example.com', { password: 'hunter2-never-exported' });
  const group = await createGroup(ctx, 'codex-local-users', [alice]);
  await patchGroup(ctx, group, [addMembers([bob])]);

  const events = await db.selectFrom('audit_events').select(['id', 'seq', 'occurred_at']).where('workspace_id', '=', ctx.workspaceId).orderBy('seq').execute();
  const byWindow = new Map<string, string[]>();
  for (const e of events) {
    const id = windowId(new Date(e.occurred_at));
    byWindow.set(id, [...(byWindow.get(id) ?? []), e.id]);
  }

  // The current hour is still open: not listed unless asked for.
  const listed = json(await ctx.api('GET', '/audit/exports', { as: 'compliance' }));
  t.match(listed, { windowSize: 'PT1H', completeThrough: String });
  t.ok(listed.files.every((f: any) => f.complete && new Date(f.end).getTime() <= new Date(listed.completeThrough).getTime()));
  const open = json(await ctx.api('GET', '/audit/exports?includeIncomplete=true', { as: 'compliance' }));
  t.same(open.files.map((f: any) => f.id), [...byWindow.keys()]);
  t.same(open.files.map((f: any) => f.events), [...byWindow.values()].map((ids) => ids.length));
  const last = open.files[open.files.length - 1];
  t.match(last, { complete: false, path: `/api/v1/audit/exports/${last.id}.jsonl`, events: Number });

  // Two hours later (the service's clock), the same files are complete and listed.
  const later = await listExportFiles(db, ctx.workspaceId, { now: new Date(Date.now() + 2 * HOUR) });
  t.same(later.files.map((f) => [f.id, f.complete]), [...byWindow.keys()].map((id) => [id, true]));
  t.equal(later.nextAfter, null);
  const afterLast = await listExportFiles(db, ctx.workspaceId, { now: new Date(Date.now() + 2 * HOUR), after: new Date(later.files[later.files.length - 1]!.end) });
  t.same(afterLast.files, [], 'after the end of the last file: nothing new');

  const download = await ctx.api('GET', `/audit/exports/${last.id}.jsonl`, { as: 'compliance' });
  t.equal(download.statusCode, 200);
  t.match(download.headers['content-type'], /^application\/x-ndjson/);
  t.equal(download.headers['x-audit-window-complete'], 'false');
  t.match(download.headers['content-disposition'], `audit-${last.id}.jsonl`);
  const records = parseJsonl(download.body);
  t.same(records.map((r) => r.id), byWindow.get(last.id), 'every event of the hour, in seq order');
  t.equal(new Set(records.map((r) => r.id)).size, records.length, 'ids are unique');
  t.same(Object.keys(records[0]!), ['id', 'type', 'timestamp', 'workspace', 'actor', 'target', 'details', 'causeId', 'requestId', 'seq', 'leafIndex', 'leafHash', 'prevHash', 'hash']);
  const added = records.find((r) => r.type === 'group.member_added' && (r.details as { userId?: string }).userId === bob)!;
  t.match(added, {
    id: /^[0-9a-f-]{36}$/,
    timestamp: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    workspace: { id: ctx.workspaceId, name: 'test' },
    actor: { type: 'scim', id: String },
    target: { type: 'group', id: group },
    details: { userId: bob },
  });
  t.notMatch(download.body, /hunter2/, 'never a password');

  // Downloading again yields the same records: consumers de-duplicate on id.
  const again = parseJsonl((await ctx.api('GET', `/audit/exports/${last.id}.jsonl`, { as: 'owner' })).body);
  t.same(again.slice(0, records.length), records, 'stable records');

  const empty = await ctx.api('GET', '/audit/exports/2001-01-01T00Z.jsonl', { as: 'owner' });
  t.equal(empty.statusCode, 200);
  t.same(parseJsonl(empty.body), [], 'an empty hour: only the checkpoint line');
  t.equal(empty.headers['x-audit-window-complete'], 'true');
  t.equal((await ctx.api('GET', '/audit/exports/2001-01-01T25Z.jsonl', { as: 'owner' })).statusCode, 400);
  t.equal((await ctx.api('GET', '/audit/exports/yesterday.jsonl', { as: 'owner' })).statusCode, 400);
});

t.test('a window is complete only once no write in flight can still land in it', async (t) => {
  const audit: AuditContext = { workspaceId: ctx.workspaceId, actor: { type: 'system', id: 'test' } };
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let appended!: () => void;
  const inside = new Promise<void>((resolve) => (appended = resolve));
  const late = newAuditEventId();
  // A writer that stamps its event now and commits only later.
  const writer = db.transaction().execute(async (trx) => {
    await appendAuditEvents(trx, audit, [{ id: late, type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } }]);
    appended();
    await held;
  });
  await inside;
  const now = new Date(Date.now() + 2 * HOUR); // by the clock alone, the current hour would be complete
  const hour = windowId(new Date());
  let committed = false;
  // On PostgreSQL the listing answers at once; on PGlite (one connection) it waits for the writer.
  const listing = listExportFiles(db, ctx.workspaceId, { now, includeIncomplete: true }).then((r) => ({ r, beforeCommit: !committed }));
  await sleep(50);
  committed = true;
  release();
  await writer;
  const { r: during, beforeCommit } = await listing;
  if (beforeCommit) t.equal(during.files.find((f) => f.id === hour)?.complete, false, 'listed while the writer was in flight: incomplete');
  await ctx.app.auditLog.seal();
  const result = await listExportFiles(db, ctx.workspaceId, { now });
  const file = result.files.find((f) => f.id === hour)!;
  t.ok(file?.complete, 'complete once the writer committed and its event was sealed');
  const body = parseJsonl(await collect(exportWindow(db, ctx.workspaceId, file.id, { now, seal: ctx.app.auditLog.options }).then((w) => w.body)));
  t.ok(body.some((r) => r.id === late), 'the late-committing event is in the complete file');
});

async function collect(body: Promise<AsyncIterable<string>>): Promise<string> {
  let out = '';
  for await (const chunk of await body) out += chunk;
  return out;
}

t.test(`${scaled(50_000, 6_000)} events stream in bounded pages; a slow reader holds the reads back`, async (t) => {
  const ws = (await ensureWorkspace(db, `bulk-${randomUUID()}`)).workspace.id;
  const audit: AuditContext = { workspaceId: ws, actor: { type: 'scim', id: 'bulk-token' }, requestId: 'bulk' };
  const group = randomUUID();
  const total = scaled(50_000, 6_000);
  const batch = Math.min(total, 10_000);
  for (let start = 0; start < total; start += batch) {
    const events: NewAuditEvent[] = Array.from({ length: batch }, () => ({ type: 'group.member_added', targetType: 'group', targetId: group, data: { userId: randomUUID() } }));
    await db.transaction().execute((trx) => appendAuditEvents(trx, audit, events));
  }
  const workspaceEvents = Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', ws).executeTakeFirstOrThrow()).n);

  const pageSize = 500;
  const pages: number[] = [];
  const stream = Readable.from(exportJsonl(db, ws, { pageSize, seal: ctx.app.auditLog.options, onPage: (rows) => pages.push(rows) }), { objectMode: false, highWaterMark: 64 * 1024 });
  let lines = 0;
  let previousLeaf = -1;
  let stalled = false;
  let pagesDuringStall = -1;
  const ids = new Set<string>();
  let carry = '';
  for await (const chunk of stream) {
    const text = carry + (chunk as Buffer).toString('utf8');
    const parts = text.split('\n');
    carry = parts.pop()!;
    for (const line of parts) {
      const record = JSON.parse(line) as ExportRecord & { checkpoint?: { treeSize: number } };
      if (record.checkpoint) {
        t.equal(record.checkpoint.treeSize, workspaceEvents, 'the trailer states the whole tree');
        continue;
      }
      if (record.leafIndex !== previousLeaf + 1) t.fail(`leaf ${record.leafIndex} after ${previousLeaf}`);
      previousLeaf = record.leafIndex;
      ids.add(record.id);
      lines++;
    }
    if (!stalled && lines >= total / 2) {
      // The reader stops for a while mid-export. Unread data stays in the database: at most the
      // stream's small buffer and the page in flight are read meanwhile, where an eager reader
      // would have fetched dozens of pages.
      stalled = true;
      const before = pages.length;
      await sleep(750);
      pagesDuringStall = pages.length - before;
    }
  }
  t.equal(carry, '');
  t.equal(lines, workspaceEvents);
  t.equal(ids.size, lines, 'unique ids');
  t.ok(pages.every((n) => n <= pageSize), 'no page larger than the page size');
  t.ok(pages.length >= Math.ceil(workspaceEvents / pageSize), 'many keyset pages, not one read');
  t.ok(pagesDuringStall >= 0 && pagesDuringStall <= 2, `a stalled reader stalls the reads (${pagesDuringStall} pages read while it waited)`);
});
