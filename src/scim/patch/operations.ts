// The PatchOp request envelope of RFC 7644 §3.5.2, validated before any operation is applied.

import { ScimError } from '../errors.js';
import { getIgnoringCase, isPlainObject } from '../resource.js';
import { PATCH_OP_SCHEMA } from '../schemas/index.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  /** Absent for path-less operations (RFC 7644 §3.5.2.1 and §3.5.2.3). */
  path?: string;
  value?: unknown;
  /** Position in `Operations`, for error details. */
  index: number;
}

const OP_NAMES: readonly PatchOpName[] = ['add', 'replace', 'remove'];

/** Validates a PatchOp body and returns its operations in order. */
export function parsePatchBody(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw invalidSyntax('The PATCH body must be a JSON object (a PatchOp message)');
  const schemas = getIgnoringCase(body, 'schemas');
  const lowerSchema = PATCH_OP_SCHEMA.toLowerCase();
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === lowerSchema)) {
    throw invalidSyntax(`"schemas" must contain ${PATCH_OP_SCHEMA}`);
  }
  const operations = getIgnoringCase(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('"Operations" must be a non-empty array');
  }
  return operations.map(parseOperation);
}

function parseOperation(raw: unknown, index: number): PatchOperation {
  const where = `Operations[${index}]`;
  if (!isPlainObject(raw)) throw invalidSyntax(`${where} must be an object`);
  const opName = getIgnoringCase(raw, 'op');
  // Entra ID capitalises op names ("Replace"), the RFC spells them in lower case: compare ignoring case.
  const op = OP_NAMES.find((name) => typeof opName === 'string' && opName.toLowerCase() === name);
  if (op === undefined) throw invalidSyntax(`${where}.op must be "add", "replace" or "remove", got ${JSON.stringify(opName)}`);

  const path = getIgnoringCase(raw, 'path');
  if (path !== undefined && path !== null && typeof path !== 'string') throw invalidSyntax(`${where}.path must be a string`);
  const value = getIgnoringCase(raw, 'value');
  // RFC 7644 §3.5.2.1 and §3.5.2.3: add and replace carry a "value".
  if (op !== 'remove' && value === undefined) throw invalidSyntax(`${where} (${op}) needs a "value"`);

  const operation: PatchOperation = { op, index };
  // An empty path is treated as no path: some clients serialise a path-less op with "path": "".
  if (typeof path === 'string' && path.trim() !== '') operation.path = path.trim();
  if (value !== undefined) operation.value = value;
  return operation;
}

function invalidSyntax(detail: string): ScimError {
  return ScimError.of('invalidSyntax', detail);
}
