import type { Db, Executor } from '../db/index.js';
import { checkpointOrigin, loadNodes, sealPending, type SealOptions } from '../audit/sealer.js';
import { checkpointText, hasSignatures, parseCheckpoint, signNote } from '../audit/signed-note.js';
import { consistencyRanges, EMPTY_ROOT, foldNodes, inclusionRanges, rangeNodes, type Hash, type Range } from '../audit/merkle.js';
import { eventLeafHash } from '../audit/leaf.js';
import { toAuditEvent } from '../repositories/audit.repository.js';
import { isUuid } from '../repositories/ids.js';
import { invalid, notFound } from './admin-errors.js';

// Reading the workspace's Merkle log: its state, its latest checkpoint, and RFC 9162 proofs
// computed from the stored complete subtrees (a proof of a tree of n leaves reads O(log² n) nodes).

export interface AuditLogState {
  treeSize: number;
  rootHash: Buffer | null;
  checkpoint: string | null;
  checkpointSize: number;
  sealedAt: Date | null;
  purgedThrough: number;
  chainSeq: number;
  chainHash: string;
  anchorSeq: number;
  anchorHash: string;
}

export async function findAuditLog(db: Executor, workspaceId: string): Promise<AuditLogState | undefined> {
  const row = await db.selectFrom('audit_logs').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
  if (!row) return undefined;
  return {
    treeSize: Number(row.tree_size),
    rootHash: row.root_hash ? Buffer.from(row.root_hash) : null,
    checkpoint: row.checkpoint,
    checkpointSize: Number(row.checkpoint_size),
    sealedAt: row.sealed_at ? new Date(row.sealed_at) : null,
    purgedThrough: Number(row.purged_through),
    chainSeq: Number(row.chain_seq),
    chainHash: row.chain_hash,
    anchorSeq: Number(row.anchor_seq),
    anchorHash: row.anchor_hash,
  };
}

/** MTH of each range, reading every node they need in one query. */
export async function rangeHashes(db: Executor, workspaceId: string, ranges: readonly Range[]): Promise<Hash[]> {
  const plans = ranges.map(rangeNodes);
  const nodes = await loadNodes(db, workspaceId, plans.flat());
  return plans.map((refs) => foldNodes(refs.map(([level, index]) => nodes.get(`${level}/${index}`)!)));
}

export interface TreeHead {
  treeSize: number;
  rootHash: string;
  /** The tlog-checkpoint note, signed when the service has AUDIT_SIGNING_KEY_FILE. */
  checkpoint: string;
  signed: boolean;
}

/** The latest checkpoint, after sealing what has committed. */
export async function latestHead(db: Db, workspaceId: string, seal: SealOptions): Promise<TreeHead> {
  await sealPending(db, seal);
  const log = await findAuditLog(db, workspaceId);
  if (log?.checkpoint) {
    const { size, rootHash } = parseCheckpoint(log.checkpoint)!;
    return { treeSize: size, rootHash: rootHash.toString('base64'), checkpoint: log.checkpoint, signed: hasSignatures(log.checkpoint) };
  }
  // Nothing sealed yet: the empty tree, whose root is the hash of the empty string (RFC 9162).
  const text = checkpointText({ origin: checkpointOrigin(seal.origin, workspaceId), size: 0, rootHash: EMPTY_ROOT });
  return { treeSize: 0, rootHash: EMPTY_ROOT.toString('base64'), checkpoint: seal.signer ? signNote(text, seal.signer) : text, signed: seal.signer !== undefined };
}

function checkSize(treeSize: number | undefined, log: AuditLogState | undefined, name: string): number {
  const size = log?.treeSize ?? 0;
  if (treeSize === undefined) return log?.checkpointSize ?? 0;
  if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > size) throw invalid(name, `${name} must be a tree size from 0 to ${size}, the size sealed so far`);
  return treeSize;
}

export interface InclusionProof {
  eventId: string;
  leafIndex: number;
  leafHash: string;
  treeSize: number;
  rootHash: string;
  /** Sibling hashes, leaf side first (RFC 9162 §2.1.3). */
  proof: string[];
}

export async function inclusionProof(db: Db, workspaceId: string, eventId: string, treeSize: number | undefined, seal: SealOptions): Promise<InclusionProof> {
  await sealPending(db, seal);
  const row = isUuid(eventId) ? await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', eventId).executeTakeFirst() : undefined;
  if (!row) throw notFound('audit event', eventId);
  const event = toAuditEvent(row);
  if (event.leafIndex === null) throw invalid('id', 'The event is not sealed yet (its transaction is older than one still running); retry in a second');
  const size = checkSize(treeSize, await findAuditLog(db, workspaceId), 'treeSize');
  if (event.leafIndex >= size) throw invalid('treeSize', `The event is leaf ${event.leafIndex}: it is in trees of size ${event.leafIndex + 1} and larger`);
  const [root, ...proof] = await rangeHashes(db, workspaceId, [[0, size], ...inclusionRanges(event.leafIndex, size)]);
  return {
    eventId: event.id,
    leafIndex: event.leafIndex,
    leafHash: eventLeafHash(event).toString('base64'),
    treeSize: size,
    rootHash: root!.toString('base64'),
    proof: proof.map((h) => h.toString('base64')),
  };
}

export interface ConsistencyProof {
  from: number;
  to: number;
  fromRootHash: string;
  toRootHash: string;
  /** RFC 9162 §2.1.4. */
  proof: string[];
}

export async function consistencyProof(db: Db, workspaceId: string, from: number, to: number | undefined, seal: SealOptions): Promise<ConsistencyProof> {
  await sealPending(db, seal);
  const log = await findAuditLog(db, workspaceId);
  const second = checkSize(to, log, 'to');
  const first = checkSize(from, log, 'from');
  if (first > second) throw invalid('from', 'from must not exceed to');
  const [fromRoot, toRoot, ...proof] = await rangeHashes(db, workspaceId, [[0, first], [0, second], ...consistencyRanges(first, second)]);
  return { from: first, to: second, fromRootHash: fromRoot!.toString('base64'), toRootHash: toRoot!.toString('base64'), proof: proof.map((h) => h.toString('base64')) };
}

export interface VerifierKey {
  verifierKey: string;
  name: string;
  firstUsedAt: string;
  lastUsedAt: string;
  current: boolean;
}

/** Every key that signed checkpoints here, the configured one first. */
export async function listVerifierKeys(db: Executor, seal: SealOptions): Promise<VerifierKey[]> {
  const rows = await db.selectFrom('audit_signing_keys').selectAll().orderBy('first_used_at', 'desc').execute();
  const keys = rows.map((r) => ({
    verifierKey: r.verifier_key,
    name: r.name,
    firstUsedAt: new Date(r.first_used_at).toISOString(),
    lastUsedAt: new Date(r.last_used_at).toISOString(),
    current: r.verifier_key === seal.signer?.verifierKey,
  }));
  return keys.sort((a, b) => Number(b.current) - Number(a.current));
}
