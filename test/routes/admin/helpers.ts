import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Secret, type Config } from '../../../src/config/index.js';
import { createAdminToken, type AdminRole } from '../../../src/services/admin-tokens.service.js';
import { buildTestApp, TEST_ACTOR, type TestApp } from '../../helpers/app.js';

// The real app with admin JWTs enabled, and helpers to call the admin API as each role.

export const ADMIN_SECRET = new Secret('test-admin-jwt-secret-0123456789-abcdefghij');
const DAY = 24 * 60 * 60 * 1000;

interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface AdminTestApp extends TestApp {
  /** A fresh bridge-signed admin JWT of the role. */
  mint(role: AdminRole, options?: { expiresAt?: Date; workspaceId?: string }): Promise<{ id: string; token: string }>;
  tokens: Record<AdminRole, string>;
  /** Calls /api/v1 as `as` (a role, whose token is minted once, or a raw token; null: no header). */
  api(method: InjectOptions['method'], url: string, options?: { body?: unknown; as?: AdminRole | { token: string } | null }): Promise<LightMyRequestResponse>;
}

export async function buildAdminTestApp(t: TestContext, overrides: Partial<Config> = {}): Promise<AdminTestApp> {
  const base = await buildTestApp(t, { adminJwtSecret: ADMIN_SECRET, ...overrides });
  const mint: AdminTestApp['mint'] = (role, options = {}) =>
    createAdminToken(
      base.db.db,
      ADMIN_SECRET,
      { workspaceId: options.workspaceId ?? base.workspaceId, role, description: `test ${role}`, expiresAt: options.expiresAt ?? new Date(Date.now() + DAY) },
      TEST_ACTOR,
    );
  const tokens = {
    owner: (await mint('owner')).token,
    'codex-admin': (await mint('codex-admin')).token,
    compliance: (await mint('compliance')).token,
  };
  const api: AdminTestApp['api'] = (method, url, options = {}) => {
    const as = options.as === undefined ? 'owner' : options.as;
    const token = as === null ? undefined : typeof as === 'string' ? tokens[as] : as.token;
    return base.app.inject({
      method,
      url: url.startsWith('/api/v1') ? url : `/api/v1${url}`,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      payload: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    });
  };
  return { ...base, mint, tokens, api };
}

export const json = (res: LightMyRequestResponse): any => JSON.parse(res.body);
