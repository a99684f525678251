import { AccessValidationError } from './errors.js';
import { EFFECT_SETTINGS, RESOLUTION_STRATEGIES, type EffectSetting, type ResolutionStrategy } from './model.js';

// Input checks of the admin use-cases. Each failure names the field as the caller sent it, so the
// API can answer 400 { field, message } without knowing the rules.

// Lower-case ASCII (the migration's CHECK): sorts identically in JavaScript and SQL, safe in URLs.
export const PERMISSION_KEY = /^[a-z][a-z0-9_]{0,63}$/;
 
const CONTROL = /[\u0000-\u001f\u007f]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const MAX_NAME = 100;
export const MAX_DESCRIPTION = 1000;
export const MAX_GROUP_REFERENCE = 256;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (!isPlainObject(value)) throw new AccessValidationError(field, 'must be a JSON object');
  return value;
}

/** Unknown properties are refused rather than ignored: a typo must not be silently dropped. */
export function checkKnownFields(input: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) throw new AccessValidationError(key, `unknown property; expected one of ${allowed.join(', ')}`);
  }
}

export function checkPermissionKey(value: unknown, field = 'key'): string {
  if (typeof value !== 'string' || !PERMISSION_KEY.test(value)) {
    throw new AccessValidationError(field, 'must be 1–64 characters of a-z, 0-9 and _, starting with a letter (e.g. codex_local)');
  }
  return value;
}

export function checkName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || value.trim() === '') throw new AccessValidationError(field, 'must be a non-empty string');
  if (value.trim() !== value) throw new AccessValidationError(field, 'must not start or end with spaces');
  if (value.length > MAX_NAME) throw new AccessValidationError(field, `must be at most ${MAX_NAME} characters`);
  if (CONTROL.test(value)) throw new AccessValidationError(field, 'must not contain control characters');
  return value;
}

export function checkDescription(value: unknown, field = 'description'): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new AccessValidationError(field, 'must be a string');
  if (value.length > MAX_DESCRIPTION) throw new AccessValidationError(field, `must be at most ${MAX_DESCRIPTION} characters`);
  return value;
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new AccessValidationError(field, 'must be true or false');
  return value;
}

export function checkUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new AccessValidationError(field, 'must be an id (a uuid)');
  return value.toLowerCase();
}

export function checkStrategy(value: unknown, field = 'strategy'): ResolutionStrategy {
  if (!RESOLUTION_STRATEGIES.includes(value as ResolutionStrategy)) throw new AccessValidationError(field, `must be one of ${RESOLUTION_STRATEGIES.join(', ')}`);
  return value as ResolutionStrategy;
}

/**
 * A role's permission settings: `{ codex_local: 'allow', codex_admin: 'deny', code_review: 'inherit' }`,
 * every key in the workspace's catalogue.
 */
export function checkEffects(value: unknown, catalogue: ReadonlySet<string>, field = 'permissions'): Record<string, EffectSetting> {
  if (value === undefined || value === null) return {};
  const input = checkObject(value, field);
  const out: Record<string, EffectSetting> = {};
  for (const [key, effect] of Object.entries(input)) {
    const where = `${field}.${key}`;
    if (!catalogue.has(key)) throw new AccessValidationError(where, 'is not a permission of this workspace (see the permission catalogue)');
    if (!EFFECT_SETTINGS.includes(effect as EffectSetting)) throw new AccessValidationError(where, `must be one of ${EFFECT_SETTINGS.join(', ')}`);
    out[key] = effect as EffectSetting;
  }
  return out;
}

export function checkGroupReference(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new AccessValidationError(field, 'must be a non-empty string');
  if (value.length > MAX_GROUP_REFERENCE) throw new AccessValidationError(field, `must be at most ${MAX_GROUP_REFERENCE} characters`);
  if (CONTROL.test(value)) throw new AccessValidationError(field, 'must not contain control characters');
  return value;
}

/** Page size of list endpoints. */
export function checkLimit(value: unknown, fallback: number, max: number, field = 'limit'): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new AccessValidationError(field, `must be an integer from 1 to ${max}`);
  }
  return value;
}
