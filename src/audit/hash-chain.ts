import crypto from 'node:crypto';
import type { AuditActor } from './types.js';

// The per-workspace hash chain: hash = sha256(prevHash + canonicalJson(fields)). Computed in
// JavaScript, not SQL, so one implementation serves both dialects, the verifier and the exporter.

/** prev_hash of a workspace's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** Bumped if the hashed field set ever changes; part of every hashed document. */
export const HASH_VERSION = 1;

/** Exactly the fields that are hashed (data separately, as canonical JSON). Anything else can change without breaking the chain. */
export interface HashedFields {
  id: string;
  workspaceId: string;
  seq: number;
  occurredAt: Date;
  actor: AuditActor;
  requestId: string | null;
  type: string;
  targetType: string;
  targetId: string;
  causeId: string | null;
}

/**
 * JSON with object keys sorted (UTF-16 code unit order) and no whitespace. Input must already be
 * plain JSON data (see sanitizeAuditData): what jsonb gives back after a round trip hashes identically.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = obj[key];
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

// JSON.stringify for a string, skipping the call for the common printable-ASCII case (ids, types).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
const str = (s: string | null): string => (s === null ? 'null' : NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"');

/** The fields every event of one append call shares. */
export type SharedFields = Pick<HashedFields, 'workspaceId' | 'occurredAt' | 'actor' | 'requestId'>;

/**
 * Returns a function hashing one event: sha256 hex of prevHash + canonicalJson({v, id, workspaceId,
 * seq, occurredAt (ISO, milliseconds), actor {type, id, display|null}, requestId, type, targetType,
 * targetId, data, causeId}). Written out in sorted key order by hand, with the fields shared by a
 * call serialised once, because it runs 100,000 times for a large PUT; a test pins it to
 * canonicalJson of the same object.
 */
export function eventHasher(shared: SharedFields): (prevHash: string, f: Omit<HashedFields, keyof SharedFields>, canonicalData: string) => string {
  const actor = `{"actor":{"display":${str(shared.actor.display ?? null)},"id":${str(shared.actor.id)},"type":${str(shared.actor.type)}}`;
  const occurredAt = `,"occurredAt":${str(shared.occurredAt.toISOString())},"requestId":${str(shared.requestId)}`;
  const tail = `,"v":${HASH_VERSION},"workspaceId":${str(shared.workspaceId)}}`;
  return (prevHash, f, canonicalData) =>
    sha256Hex(
      prevHash +
        actor +
        ',"causeId":' + str(f.causeId) +
        ',"data":' + canonicalData +
        ',"id":' + str(f.id) +
        occurredAt +
        ',"seq":' + f.seq +
        ',"targetId":' + str(f.targetId) +
        ',"targetType":' + str(f.targetType) +
        ',"type":' + str(f.type) +
        tail,
    );
}

/** One event's hash, for readers (verify, export) that meet events one at a time. */
export function chainHash(prevHash: string, fields: HashedFields, canonicalData: string): string {
  return eventHasher(fields)(prevHash, fields, canonicalData);
}

// crypto.hash (Node ≥ 20.12) skips the Hash object: about twice as fast for short inputs.
const sha256Hex: (input: string) => string =
  typeof crypto.hash === 'function'
    ? (input) => crypto.hash('sha256', input, 'hex')
    : (input) => crypto.createHash('sha256').update(input).digest('hex');
