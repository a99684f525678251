import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config/index.js';
import { createDb } from '../../src/db/index.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { createTestDb, type TestDb } from './db.js';

interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDb;
  workspaceId: string;
  scimToken: string;
  /** Injects a SCIM request with the workspace's bearer token and a SCIM JSON body. */
  scim(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export const TEST_ACTOR = { type: 'system' as const, id: 'test' };

/**
 * SCIM requests through a second service instance on the same PostgreSQL database, with the first
 * app's token, for races between instances. PGlite is owned by one process, so there the second
 * instance is the first one again and the same requests interleave on it.
 */
export async function secondInstance(t: TestContext, first: TestApp): Promise<TestApp['scim']> {
  const secondDb = first.db.databaseUrl ? await createDb({ databaseUrl: first.db.databaseUrl, dataDir: '' }) : undefined;
  if (secondDb) t.teardown(() => secondDb.close());
  const app = secondDb ? await buildApp(testConfig(), { database: secondDb }) : first.app;
  if (secondDb) t.teardown(() => app.close());
  return (method, url, body, headers = {}) =>
    app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: { authorization: `Bearer ${first.scimToken}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
}

/** The real app on a database of its own, with a SCIM token for its workspace. */
export async function buildTestApp(t: TestContext, overrides: Partial<Config> = {}): Promise<TestApp> {
  const db = await createTestDb(t);
  // Readers seal on demand; the background sealer need not tick often in tests.
  const app = await buildApp(testConfig({ auditLog: { ...testConfig().auditLog, sealIntervalMs: 1000 }, ...overrides }), { database: db });
  t.teardown(() => {
    const closing = app.close();
    // A listening test's clients may hold sockets that never sent a request (Chromium preconnects):
    // close() would wait for them to time out; the test is over, so they go now.
    app.server.closeAllConnections();
    return closing;
  });
  const { token } = await createScimToken(db.db, { workspaceId: db.workspaceId }, TEST_ACTOR);
  const scim: TestApp['scim'] = (method, url, body, headers = {}) =>
    app.inject({
      method,
      url: url.startsWith('/scim/v2') ? url : `/scim/v2${url}`,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, db, workspaceId: db.workspaceId, scimToken: token, scim };
}
