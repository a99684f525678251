import { createHash } from 'node:crypto';

// Verified bearer tokens, remembered for a second: a SCIM client sends the same token
// with every request, and looking it up was one of a filtered GET's four round trips. A
// revocation, a rotation or a schema change (the entry carries the workspace's schema version)
// made in this process clears every cache at once; made by another instance or the CLI, it takes
// effect here when the entry expires: within AUTH_CACHE_TTL_MS everywhere. Unknown and refused
// tokens are never remembered, so nothing here can make a bad token pass.

export const AUTH_CACHE_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

const caches = new Set<Map<string, { value: unknown; until: number }>>();

/** Forget every remembered token in this process (after a revocation, rotation or schema change). */
export function invalidateAuthCaches(): void {
  for (const cache of caches) cache.clear();
}

export interface AuthCache<T> {
  /** The verified value for this bearer secret, verifying it with `verify` when not remembered. */
  get(secret: string, verify: () => Promise<T | undefined>): Promise<T | undefined>;
}

export function createAuthCache<T>(ttlMs = AUTH_CACHE_TTL_MS): AuthCache<T> {
  const entries = new Map<string, { value: unknown; until: number }>();
  caches.add(entries);
  return {
    async get(secret, verify) {
      // Keyed by a hash: the secret itself is not kept in memory longer than the request.
      const key = createHash('sha256').update(secret).digest('base64');
      const now = Date.now();
      const hit = entries.get(key);
      if (hit && hit.until > now) return hit.value as T;
      const value = await verify();
      if (value === undefined) {
        entries.delete(key);
        return undefined;
      }
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(key, { value, until: now + ttlMs });
      return value;
    },
  };
}
