import { sql } from 'kysely';
import { chainHash, canonicalJson } from '../audit/hash-chain.js';
import { eventLeafHash } from '../audit/leaf.js';
import { foldNodes, nodeHash, type Hash } from '../audit/merkle.js';
import { openNote, parseCheckpoint, type NoteVerifier } from '../audit/signed-note.js';
import type { AuditVerifyResult } from '../audit/types.js';
import type { Executor } from '../db/index.js';
import { listSealedEvents } from '../repositories/audit.repository.js';
import { findAuditLog, type AuditLogState } from './audit-log.service.js';

const PAGE_SIZE = 5_000;

/**
 * Checks a workspace's log from the database, as far as it is sealed when the walk starts:
 * - each sealed event still hashes to its stored leaf (nobody edited it);
 * - the events of the old hash chain still link up, from the purge anchor on;
 * - the leaves hash to the stored root, which the latest checkpoint states (and, given the
 *   verifier key, signs);
 * - every leaf is accounted for: an event or one the retention purge recorded removing.
 * One keyset page at a time, so memory stays flat for millions of events; no transaction (on
 * PGlite a long one would stall the service). Proofs against signed heads held by someone else
 * are what detect a rewrite by whoever can also recompute the tree: see `codex-scim audit verify FILE`.
 */
export async function verifyAuditLog(
  db: Executor,
  workspaceId: string,
  options: { pageSize?: number; verifier?: NoteVerifier } = {},
): Promise<AuditVerifyResult & { log?: AuditLogState }> {
  const log = await findAuditLog(db, workspaceId);
  if (!log || log.treeSize === 0) return { ok: true, checked: 0, log };
  return { ...(await walk(db, workspaceId, log, options.pageSize ?? PAGE_SIZE, options.verifier)), log };
}

/** Checks the log as it was read: events sealed since are left for the next run. */
async function walk(db: Executor, workspaceId: string, log: AuditLogState, pageSize: number, verifier: NoteVerifier | undefined): Promise<AuditVerifyResult> {

  let checked = 0;
  let prevChainHash = log.anchorHash;
  let chainSeq = log.anchorSeq;
  // The running right edge of the tree as the leaves stream by, to recompute its root.
  const edge: Array<{ level: number; hash: Hash }> = [];
  let next = 0;
  for (let after = -1; ; ) {
    const events = await listSealedEvents(db, workspaceId, after, log.treeSize, pageSize);
    const last = events[events.length - 1];
    // The last page reaches the end of the tree, past any events missing from its tail.
    const to = events.length < pageSize || !last ? log.treeSize : last.leafIndex! + 1;
    const leaves = await leafNodes(db, workspaceId, next, to);
    for (const event of events) {
      const stored = leaves.get(event.leafIndex!);
      if (!stored || !stored.equals(eventLeafHash(event))) return broken(checked, event.seq, event.id, 'leaf_mismatch');
      if (event.hash !== null) {
        if (event.prevHash !== prevChainHash) return broken(checked, event.seq, event.id, 'prev_hash_mismatch');
        if (chainHash(event.prevHash, event, canonicalJson(event.data)) !== event.hash) return broken(checked, event.seq, event.id, 'hash_mismatch');
        prevChainHash = event.hash;
        chainSeq = event.seq;
      }
      checked++;
    }
    for (let i = next; i < to; i++) {
      const leaf = leaves.get(i);
      if (!leaf) return broken(checked, null, null, 'tree_mismatch');
      edge.push({ level: 0, hash: leaf });
      while (edge.length >= 2 && edge[edge.length - 1]!.level === edge[edge.length - 2]!.level) {
        const right = edge.pop()!;
        const left = edge.pop()!;
        edge.push({ level: right.level + 1, hash: nodeHash(left.hash, right.hash) });
      }
    }
    next = to;
    if (events.length < pageSize) break;
    after = last!.leafIndex!;
  }
  if (next !== log.treeSize) return broken(checked, null, null, 'tree_mismatch');
  if (chainSeq !== log.chainSeq || prevChainHash !== log.chainHash) return broken(checked, log.chainSeq, null, 'head_mismatch');
  if (!log.rootHash || !foldNodes(edge.map((n) => n.hash)).equals(log.rootHash)) return broken(checked, null, null, 'tree_mismatch');
  if (checked + (await purgedEventCount(db, workspaceId)) < log.treeSize) return broken(checked, null, null, 'events_missing');
  const checkpointProblem = checkCheckpoint(log, verifier);
  if (checkpointProblem) return broken(checked, null, null, checkpointProblem);
  return { ok: true, checked };
}

function checkCheckpoint(log: AuditLogState, verifier: NoteVerifier | undefined): 'checkpoint_mismatch' | undefined {
  if (!log.checkpoint) return 'checkpoint_mismatch';
  let text: string | undefined = log.checkpoint;
  if (verifier) {
    const opened = openNote(log.checkpoint, verifier);
    if (!opened.verified) return 'checkpoint_mismatch';
    text = opened.text;
  }
  const parsed = parseCheckpoint(text);
  // The checkpoint may trail the tree by the last batch; its root is then checked by consistency on the next pass.
  if (!parsed || parsed.size !== log.checkpointSize || (parsed.size === log.treeSize && !parsed.rootHash.equals(log.rootHash!))) return 'checkpoint_mismatch';
  return undefined;
}

async function leafNodes(db: Executor, workspaceId: string, from: number, to: number): Promise<Map<number, Hash>> {
  const rows = await db
    .selectFrom('audit_tree_nodes')
    .select(['index', 'hash'])
    .where('workspace_id', '=', workspaceId)
    .where('level', '=', 0)
    .where('index', '>=', from)
    .where('index', '<', to)
    .execute();
  return new Map(rows.map((r) => [Number(r.index), Buffer.from(r.hash)]));
}

/** How many events the retention purge says it removed, by its own audit.purged records. */
async function purgedEventCount(db: Executor, workspaceId: string): Promise<number> {
  const result = await sql<{ n: string | number | null }>`
    select sum((data->>'deleted')::bigint) as n from audit_events where workspace_id = ${workspaceId} and event_type = 'audit.purged'`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

function broken(checked: number, seq: number | null, id: string | null, reason: NonNullable<AuditVerifyResult['firstBroken']>['reason']): AuditVerifyResult {
  return { ok: false, checked, firstBroken: { seq, id, reason } };
}
