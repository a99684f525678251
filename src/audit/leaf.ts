import { canonicalJson } from './hash-chain.js';
import { leafHash, type Hash } from './merkle.js';
import type { AuditEvent } from './types.js';

// What a leaf of the Merkle log commits to: the event's canonical JSON (sorted keys, no
// whitespace, UTF-8), the same document for the sealer, the server's verify and an offline
// verifier reading an export line. Version 2; version 1 was the hash chain's document.
// `chainHash` is present only on events of the old chain, so the tree protects that hash too.

const LEAF_VERSION = 2;

export type LeafFields = Pick<AuditEvent, 'id' | 'workspaceId' | 'seq' | 'occurredAt' | 'actor' | 'requestId' | 'type' | 'targetType' | 'targetId' | 'data' | 'causeId' | 'hash'>;

export function leafEntry(e: LeafFields): string {
  return canonicalJson({
    v: LEAF_VERSION,
    id: e.id,
    workspaceId: e.workspaceId,
    seq: e.seq,
    occurredAt: e.occurredAt.toISOString(),
    actor: { type: e.actor.type, id: e.actor.id, display: e.actor.display ?? null },
    requestId: e.requestId,
    type: e.type,
    targetType: e.targetType,
    targetId: e.targetId,
    data: e.data,
    causeId: e.causeId,
    ...(e.hash !== null ? { chainHash: e.hash } : {}),
  });
}

export function eventLeafHash(e: LeafFields): Hash {
  return leafHash(leafEntry(e));
}
