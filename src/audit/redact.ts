// Defence in depth: services must never put a secret into an audit event, but a SCIM PATCH or PUT
// copied into `data` can carry one (Okta sends `password` on every create, RFC 7643 §4.1.1).
// Audit events cannot be corrected once written (append-only, hash-chained), so anything that
// looks like a secret is replaced before it is hashed and stored. Replacing rather than throwing:
// the change itself is legitimate, and refusing it because of its audit detail would fail the IdP.

import { canonicalJson } from './hash-chain.js';

export const REDACTED = '[REDACTED]';

const MAX_DEPTH = 32;

// Compared against the key lower-cased with separators removed, and its last URN/dotted segment
// (`urn:ietf:params:scim:schemas:core:2.0:User:password`). Suffixes, so `newPassword`,
// `clientSecret`, `accessToken`, `token_hash` match while `tokenId` and `userId` do not.
const SECRET_SUFFIXES = [
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'tokens',
  'tokenhash',
  'secrethash',
  'passwordhash',
  'authorization',
  'apikey',
  'privatekey',
  'credential',
  'credentials',
  'cookie',
  'bearer',
];

// Children of these keys are permission keys from the catalogue (`access_tokens` is a Codex
// permission), whose values are toggles, not secrets.
const PERMISSION_CONTAINERS = new Set(['permissions', 'granted', 'revoked']);

function namesSecret(...values: unknown[]): boolean {
  return values.some((v) => typeof v === 'string' && isSecretKey(v));
}

const CREDENTIAL_VALUE = /^(bearer|basic)\s+\S/i;
 
const NEEDS_STRING_FIX = /[\u0000\ud800-\udfff]/;

function normaliseKey(key: string): string {
  const segment = key.split(/[:.]/).pop() ?? key;
  return segment.toLowerCase().replace(/[^a-z0-9]/g, '');
}

// Events of one call repeat the same few keys 100,000 times: remember the verdicts.
const secretKeyCache = new Map<string, boolean>();

export function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    const k = normaliseKey(key);
    secret = SECRET_SUFFIXES.some((s) => k.endsWith(s));
    if (secretKeyCache.size > 10_000) secretKeyCache.clear();
    secretKeyCache.set(key, secret);
  }
  return secret;
}

/**
 * PostgreSQL refuses NUL in text and jsonb, and a lone surrogate reaches it as U+FFFD (UTF-8 cannot
 * encode it), which would make the stored event hash differently from the one hashed here.
 */
export function fixString(s: string): string {
  if (!NEEDS_STRING_FIX.test(s)) return s;
  // A lone surrogate is a high one not followed by a low one, or a low one not preceded by a high one.
  return s.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

function fixStringValue(s: string): string {
  // Only strings starting with b/B can be "Bearer …"/"Basic …": skip the regex for the rest.
  if ((s.charCodeAt(0) | 0x20) === 0x62 && CREDENTIAL_VALUE.test(s)) return REDACTED;
  return fixString(s);
}

/**
 * Returns `data` as plain JSON (what jsonb will give back: toJSON applied, undefined dropped,
 * non-finite numbers null, bigint as string) with secrets redacted and object keys in sorted
 * order. The hash is computed over this value, so verify recomputes it from the stored jsonb.
 */
export function sanitizeAuditData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  return sanitize(data, { plainOrder: true });
}

/**
 * canonicalJson(sanitizeAuditData(data)), fast: the sanitised objects are built with their keys
 * in sorted order, so JSON.stringify writes them canonically — except when a key looks like an
 * array index (JavaScript lists those first, numerically) or had to be repaired, which falls
 * back to the general serialiser.
 */
export function canonicalAuditData(data: Record<string, unknown> | undefined): string {
  const state = { plainOrder: true };
  const clean = sanitize(data, state);
  return state.plainOrder ? JSON.stringify(clean) : canonicalJson(clean);
}

interface SanitizeState {
  /** False once an object's insertion order may differ from sorted key order. */
  plainOrder: boolean;
}

function sanitize(data: Record<string, unknown> | undefined, state: SanitizeState): Record<string, unknown> {
  if (data === undefined || data === null) return {};
  const out = toJson(data, 0, false, state);
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw new TypeError('audit event data must be a JSON object');
  }
  return out as Record<string, unknown>;
}

const INDEX_LIKE = /^(0|[1-9][0-9]*)$/;

function toJson(value: unknown, depth: number, permissionKeys: boolean, state: SanitizeState): unknown {
  if (depth > MAX_DEPTH) throw new TypeError('audit event data is nested too deeply (or circular)');
  switch (typeof value) {
    case 'string':
      return fixStringValue(value);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const withToJson = value as { toJSON?: (key?: string) => unknown };
  if (typeof withToJson.toJSON === 'function') return toJson(withToJson.toJSON(), depth + 1, permissionKeys, state);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const j = toJson(value[i], depth + 1, false, state);
      out[i] = j === undefined ? null : j;
    }
    return out;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // A SCIM PATCH operation naming a secret attribute: {op, path: 'password', value: '...'}.
  // Only `path`/`attribute`: `{name: 'access_tokens', value}` names a permission, not a secret.
  const pathNamesSecret = Object.hasOwn(obj, 'value') && namesSecret(obj.path, obj.attribute);
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  for (const key of keys) {
    const raw = obj[key];
    let v: unknown;
    if (raw !== null && raw !== undefined && ((!permissionKeys && typeof raw !== 'boolean' && isSecretKey(key)) || (pathNamesSecret && key === 'value'))) {
      v = REDACTED;
    } else {
      v = toJson(raw, depth + 1, PERMISSION_CONTAINERS.has(key), state);
    }
    if (v === undefined) continue;
    const cleanKey = fixString(key);
    if (cleanKey !== key || INDEX_LIKE.test(key)) state.plainOrder = false;
    // `__proto__` as a plain own key, as JSON.parse and jsonb treat it.
    if (cleanKey === '__proto__') Object.defineProperty(out, cleanKey, { value: v, enumerable: true, writable: true, configurable: true });
    else out[cleanKey] = v;
  }
  return out;
}
