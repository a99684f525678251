import { eventLeafHash } from '../audit/leaf.js';
import { complementRanges } from '../audit/merkle.js';
import type { SealOptions } from '../audit/sealer.js';
import type { AuditActor, AuditEvent } from '../audit/types.js';
import type { Db, Executor } from '../db/index.js';
import { countEventsByHour, findFirstEventTimeFrom, findWorkspaceName, listSealedEventsInWindow, oldestPendingEventTime } from '../repositories/audit-query.repository.js';
import { invalid } from './admin-errors.js';
import { latestHead, rangeHashes } from './audit-log.service.js';

// Compliance export: the trail as time-windowed JSONL files — list the files
// after a timestamp, download one — one record per event with a stable id that consumers
// de-duplicate on. Files are UTC hours: small enough to fetch in one request even for a
// 50,000-member PUT, few enough (24 a day) to list, and aligned to the hour so every consumer
// sees the same files.
//
// A file is complete once no event can still land in it: its end is before the oldest
// transaction still writing began (its events are stamped after that) and before the oldest
// event not yet sealed, and clocks of service instances are trusted to agree within
// SEAL_MARGIN_MS. A file holds sealed events only, paged by leaf index, so a page boundary can
// neither skip nor repeat an event, and ends with the signed checkpoint its events are proved
// against (see the README: Verifying an export).

export const WINDOW_MS = 60 * 60 * 1000;
export const WINDOW_SIZE = 'PT1H';
/** How far behind another service instance's clock may be. */
export const SEAL_MARGIN_MS = 60 * 1000;
export const EXPORT_PAGE = 1_000;
export const DEFAULT_WINDOW_LIST = 168;
export const MAX_WINDOW_LIST = 1_000;

/** One JSONL line. Keys in this order; `id` is the de-duplication key. */
export interface ExportRecord {
  id: string;
  type: string;
  timestamp: string;
  workspace: { id: string; name: string | null };
  actor: AuditActor;
  target: { type: string; id: string };
  details: Record<string, unknown>;
  causeId: string | null;
  requestId: string | null;
  /** Insert order (commit order per group and user). */
  seq: number;
  /** The event's leaf in the workspace's Merkle log, and the leaf's hash (base64), for independent verification. */
  leafIndex: number;
  leafHash: string;
  /** The old hash chain's links, on events appended before the Merkle log; null after. */
  prevHash: string | null;
  hash: string | null;
}

/** The last line of every export: the checkpoint, and the hashes that with the file's leaves give its root. */
export interface ExportTrailer {
  checkpoint: {
    treeSize: number;
    rootHash: string;
    /** The tlog-checkpoint as a signed note (unsigned when the service has no signing key). */
    note: string;
    signed: boolean;
    /** [lo, hi, base64 MTH of leaves lo..hi-1]: every range of the tree holding none of this file's events. */
    complement: Array<[number, number, string]>;
  };
}

export function toExportRecord(e: AuditEvent, workspaceName: string | null): ExportRecord {
  return {
    id: e.id,
    type: e.type,
    timestamp: e.occurredAt.toISOString(),
    workspace: { id: e.workspaceId, name: workspaceName },
    actor: e.actor,
    target: { type: e.targetType, id: e.targetId },
    details: e.data,
    causeId: e.causeId,
    requestId: e.requestId,
    seq: e.seq,
    leafIndex: e.leafIndex!,
    leafHash: eventLeafHash(e).toString('base64'),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

// ---------------------------------------------------------------------------------------------
// Windows

const WINDOW_ID = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})Z$/;

/** `2026-11-21T10Z`: the UTC hour, ISO 8601 at hour precision. */
export function windowId(start: Date): string {
  return `${start.toISOString().slice(0, 13)}Z`;
}

export function parseWindowId(id: string): { start: Date; end: Date } | undefined {
  const m = WINDOW_ID.exec(id);
  if (!m) return undefined;
  const start = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])));
  if (Number.isNaN(start.getTime()) || windowId(start) !== id) return undefined;
  return { start, end: new Date(start.getTime() + WINDOW_MS) };
}

const floorHour = (t: Date): Date => new Date(Math.floor(t.getTime() / WINDOW_MS) * WINDOW_MS);

export interface ExportFile {
  id: string;
  start: string;
  end: string;
  events: number;
  /** No event can still be added to the file; an incomplete file may grow (re-download it later, de-duplicating on id). */
  complete: boolean;
  /** Path of the download, relative to the service. */
  path: string;
}

export interface ExportFileList {
  windowSize: string;
  files: ExportFile[];
  /** Pass as `after` to list the following files; null when there are none yet. */
  nextAfter: string | null;
  /** Files ending at or before this instant are complete. */
  completeThrough: string;
}

/** The instant up to which windows are complete: now − SEAL_MARGIN_MS, or earlier while older writes are pending. */
async function completeThrough(db: Executor, workspaceId: string, now: Date): Promise<Date> {
  const pending = await oldestPendingEventTime(db, workspaceId);
  const byClock = now.getTime() - SEAL_MARGIN_MS;
  return new Date(pending ? Math.min(byClock, pending.getTime()) : byClock);
}

/**
 * Files whose window ends after `after`, oldest first, up to `limit` hours from the first event
 * found. Only complete files unless `includeIncomplete`: a consumer that always passes the end of
 * the last file it processed as `after` then sees every event exactly once.
 */
export async function listExportFiles(
  db: Executor,
  workspaceId: string,
  options: { after?: Date; limit?: number; includeIncomplete?: boolean; now?: Date; pathPrefix?: string } = {},
): Promise<ExportFileList> {
  const limit = options.limit ?? DEFAULT_WINDOW_LIST;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_WINDOW_LIST) throw invalid('limit', `limit must be from 1 to ${MAX_WINDOW_LIST}`);
  const now = options.now ?? new Date();
  const sealed = await completeThrough(db, workspaceId, now);
  const base = { windowSize: WINDOW_SIZE, completeThrough: sealed.toISOString() };
  const after = options.after ?? new Date(0);
  const first = await findFirstEventTimeFrom(db, workspaceId, floorHour(after));
  if (!first) return { ...base, files: [], nextAfter: null };
  // At most `limit` hours are counted per call, so a first listing over years of events stays cheap.
  const rangeStart = floorHour(first);
  const rangeEnd = new Date(rangeStart.getTime() + limit * WINDOW_MS);
  const counts = await countEventsByHour(db, workspaceId, rangeStart, rangeEnd);
  const prefix = options.pathPrefix ?? '/api/v1/audit/exports/';
  const files: ExportFile[] = [];
  let stoppedAtIncomplete = false;
  for (const c of counts) {
    const end = new Date(c.start.getTime() + WINDOW_MS);
    if (end.getTime() <= after.getTime()) continue;
    const complete = end.getTime() <= sealed.getTime();
    if (!complete && !options.includeIncomplete) {
      stoppedAtIncomplete = true;
      break;
    }
    const id = windowId(c.start);
    files.push({ id, start: c.start.toISOString(), end: end.toISOString(), events: c.events, complete, path: `${prefix}${id}.jsonl` });
  }
  let nextAfter: string | null = null;
  if (!stoppedAtIncomplete && (await findFirstEventTimeFrom(db, workspaceId, rangeEnd))) nextAfter = rangeEnd.toISOString();
  return { ...base, files, nextAfter };
}

// ---------------------------------------------------------------------------------------------
// Streaming

export interface ExportStreamOptions {
  /** occurred_at >= from */
  from?: Date;
  /** occurred_at < to */
  to?: Date;
  /** How the sealer signs: exports seal what has committed first. */
  seal: SealOptions;
  pageSize?: number;
  /** Called after each page is read (instrumentation and tests). */
  onPage?: (rows: number) => void;
}

/**
 * The sealed events of [from, to) as JSONL, one chunk per keyset page in leaf order, then the
 * trailer: at most one page is held in memory, and a consumer that reads slowly
 * (Readable.from honours backpressure) stops the reads. The checkpoint is fixed when the stream
 * starts; events sealed later are in the next export.
 */
export async function* exportJsonl(db: Db, workspaceId: string, options: ExportStreamOptions): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? EXPORT_PAGE;
  const head = await latestHead(db, workspaceId, options.seal);
  const name = (await findWorkspaceName(db, workspaceId)) ?? null;
  const held: number[] = [];
  for (let after = -1; ; ) {
    const page = await listSealedEventsInWindow(db, workspaceId, options, after, head.treeSize, pageSize);
    options.onPage?.(page.length);
    let chunk = '';
    for (const event of page) {
      chunk += `${JSON.stringify(toExportRecord(event, name))}\n`;
      held.push(event.leafIndex!);
    }
    if (chunk) yield chunk;
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.leafIndex!;
  }
  const complement = complementRanges(head.treeSize, held);
  const hashes = await rangeHashes(db, workspaceId, complement);
  const trailer: ExportTrailer = {
    checkpoint: {
      treeSize: head.treeSize,
      rootHash: head.rootHash,
      note: head.checkpoint,
      signed: head.signed,
      complement: complement.map(([lo, hi], i) => [lo, hi, hashes[i]!.toString('base64')]),
    },
  };
  yield `${JSON.stringify(trailer)}\n`;
}

export interface ExportWindow {
  id: string;
  start: Date;
  end: Date;
  complete: boolean;
  body: AsyncGenerator<string>;
}

/** One file of the listing, by id (`2026-11-21T10Z`). */
export async function exportWindow(
  db: Db,
  workspaceId: string,
  id: string,
  options: { seal: SealOptions; now?: Date; pageSize?: number; onPage?: (rows: number) => void },
): Promise<ExportWindow> {
  const window = parseWindowId(id);
  if (!window) throw invalid('window', 'the file name must be a UTC hour like 2026-11-21T10Z.jsonl');
  const sealed = await completeThrough(db, workspaceId, options.now ?? new Date());
  return {
    id,
    ...window,
    complete: window.end.getTime() <= sealed.getTime(),
    body: exportJsonl(db, workspaceId, { from: window.start, to: window.end, seal: options.seal, pageSize: options.pageSize, onPage: options.onPage }),
  };
}
