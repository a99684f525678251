import { canonicalJson, chainHash, GENESIS_HASH } from '../audit/hash-chain.js';
import type { AuditVerifyResult } from '../audit/types.js';
import type { Executor } from '../db/index.js';
import { findChainHead, listAuditEventsBySeq } from '../repositories/audit.repository.js';

const PAGE_SIZE = 5_000;

/**
 * Walks a workspace's chain in seq order, one keyset page at a time (memory stays flat for
 * millions of events), and reports the first broken link: a missing seq, a prev_hash that does
 * not name its predecessor, an event whose fields no longer hash to its stored hash, or a head
 * that names events that are gone. `checked` counts the events verified before the break.
 *
 * It checks the chain up to the head as read when it starts; events appended meanwhile are left
 * for the next run. No transaction: on PGlite a long one would stall the service.
 */
export async function verifyAuditChain(db: Executor, workspaceId: string, options: { pageSize?: number } = {}): Promise<AuditVerifyResult> {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const head = (await findChainHead(db, workspaceId)) ?? { seq: 0, hash: GENESIS_HASH, anchorSeq: 0, anchorHash: GENESIS_HASH };

  let expectedSeq = head.anchorSeq + 1;
  let prevHash = head.anchorHash;
  let lastId: string | null = null;
  let checked = 0;

  for (;;) {
    const page = await listAuditEventsBySeq(db, workspaceId, expectedSeq - 1, head.seq, pageSize);
    for (const event of page) {
      if (event.seq !== expectedSeq) return broken(checked, expectedSeq, null, 'seq_gap');
      if (event.prevHash !== prevHash) return broken(checked, event.seq, event.id, 'prev_hash_mismatch');
      if (chainHash(event.prevHash, event, canonicalJson(event.data)) !== event.hash) return broken(checked, event.seq, event.id, 'hash_mismatch');
      prevHash = event.hash;
      lastId = event.id;
      expectedSeq++;
      checked++;
    }
    if (page.length < pageSize) break;
  }

  // Events deleted from the end leave no gap between survivors: only the head shows them missing.
  if (expectedSeq - 1 !== head.seq) return broken(checked, expectedSeq, null, 'head_mismatch');
  if (prevHash !== head.hash) return broken(checked, head.seq, lastId, 'head_mismatch');
  return { ok: true, checked };
}

function broken(checked: number, seq: number, id: string | null, reason: NonNullable<AuditVerifyResult['firstBroken']>['reason']): AuditVerifyResult {
  return { ok: false, checked, firstBroken: { seq, id, reason } };
}
