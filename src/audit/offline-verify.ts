import { leafEntry } from './leaf.js';
import { leafHash, rangeHashFrom, type Hash } from './merkle.js';
import { openNote, parseCheckpoint, type Checkpoint, type NoteVerifier } from './signed-note.js';
import type { ExportRecord, ExportTrailer } from '../services/audit-export.service.js';
import type { AuditTargetType } from './types.js';

// Verifying an export file with nothing but the verifier key (and, optionally, heads a witness
// kept): what `codex-scim audit verify FILE` runs, and what the README describes for auditors
// who write their own. Each event line is re-hashed into its leaf; the leaves and the trailer's
// complement give the tree's root, which must be the signed checkpoint's. Given earlier
// checkpoints, the same leaves must give each of their roots too — otherwise history was
// truncated, rewritten or wiped since the witness saw it.

export type Tamper = 'truncated' | 'rewritten' | 'wiped';

export interface OfflineReport {
  ok: boolean;
  events: number;
  treeSize: number | null;
  problems: string[];
  /** What a witnessed head shows, when it disagrees. */
  tamper?: Tamper;
  /** Witnessed heads that could be compared (the others predate what the file proves). */
  witnessed: number;
}

/** The leaf an export line commits to, recomputed from its fields. */
function exportLineLeaf(line: ExportRecord): Hash {
  return leafHash(
    leafEntry({
      id: line.id,
      workspaceId: line.workspace.id,
      seq: line.seq,
      occurredAt: new Date(line.timestamp),
      actor: line.actor,
      requestId: line.requestId,
      type: line.type,
      targetType: line.target.type as AuditTargetType,
      targetId: line.target.id,
      data: line.details,
      causeId: line.causeId,
      hash: line.hash,
    }),
  );
}

/** A checkpoint note checked against the verifier key (or, without one, only parsed). */
function readCheckpoint(note: string, verifier: NoteVerifier | undefined, problems: string[], what: string): Checkpoint | undefined {
  let text: string | undefined = note;
  if (verifier) {
    const opened = openNote(note, verifier);
    if (!opened.verified) {
      problems.push(`${what}: ${opened.reason}`);
      return undefined;
    }
    text = opened.text;
  }
  const checkpoint = parseCheckpoint(text);
  if (!checkpoint) problems.push(`${what}: not a tlog checkpoint`);
  return checkpoint;
}

export function verifyExport(fileText: string, options: { verifier?: NoteVerifier; witnessed?: readonly string[] }): OfflineReport {
  const problems: string[] = [];
  const leaves = new Map<number, Hash>();
  let trailer: ExportTrailer | undefined;
  let events = 0;
  const lines = fileText.split('\n').filter((l) => l.trim() !== '');
  lines.forEach((text, i) => {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      problems.push(`line ${i + 1}: not JSON`);
      return;
    }
    if (record && typeof record === 'object' && 'checkpoint' in record) {
      if (i !== lines.length - 1) problems.push(`line ${i + 1}: the checkpoint must be the last line`);
      trailer = record as ExportTrailer;
      return;
    }
    const line = record as ExportRecord;
    events++;
    const leaf = exportLineLeaf(line);
    if (leaf.toString('base64') !== line.leafHash) problems.push(`event ${line.id} (line ${i + 1}): its fields do not hash to its leaf: it was altered`);
    leaves.set(line.leafIndex, leaf);
  });

  if (!trailer) {
    problems.push('the file has no checkpoint line: it was cut short');
    return { ok: false, events, treeSize: null, problems, witnessed: 0 };
  }
  const { treeSize, note, complement } = trailer.checkpoint;
  const ranges = new Map(complement.map(([lo, hi, hash]) => [`${lo}-${hi}`, Buffer.from(hash, 'base64')] as const));
  const head = readCheckpoint(note, options.verifier, problems, 'the checkpoint');
  if (head && head.size !== treeSize) problems.push(`the checkpoint states ${head.size} leaves, the trailer ${treeSize}`);
  const root = rangeHashFrom(0, treeSize, leaves, ranges);
  if (!root) problems.push('the events and the complement do not cover the tree');
  else if (head && !root.equals(head.rootHash)) problems.push('the events do not hash to the signed root: events were changed or removed');

  let tamper: Tamper | undefined;
  let witnessed = 0;
  for (const [i, witnessedNote] of (options.witnessed ?? []).entries()) {
    const earlier = readCheckpoint(witnessedNote, options.verifier, problems, `witnessed head #${i + 1}`);
    if (!earlier) continue;
    if (head && earlier.origin !== head.origin) continue;
    if (earlier.size > treeSize) {
      tamper ??= treeSize === 0 ? 'wiped' : 'truncated';
      problems.push(
        treeSize === 0
          ? `wiped: the log is empty, but a head of ${earlier.size} leaves was witnessed`
          : `truncated: the log has ${treeSize} leaves, but a head of ${earlier.size} was witnessed`,
      );
      continue;
    }
    const then = rangeHashFrom(0, earlier.size, leaves, ranges);
    if (!then) continue; // this file does not reach back that far (an hourly file, or a purged prefix)
    witnessed++;
    if (!then.equals(earlier.rootHash)) {
      tamper ??= 'rewritten';
      problems.push(`rewritten: the first ${earlier.size} leaves no longer hash to the root witnessed for them`);
    }
  }
  return { ok: problems.length === 0, events, treeSize, problems, tamper, witnessed };
}
