import type { LightMyRequestResponse } from 'fastify';
import { sql, type Transaction } from 'kysely';
import { newAuditEventId } from '../../src/audit/ids.js';
import { sealPending } from '../../src/audit/sealer.js';
import { canonicalAuditData } from '../../src/audit/redact.js';
import type { AuditActor, NewAuditEvent } from '../../src/audit/types.js';
import type { Db } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { insertEventsStatement, type Chunk } from '../../src/repositories/audit.repository.js';
import type { TestApp } from '../helpers/app.js';

// Shared by the audit tests: SCIM writes through the real app, and the database owner's view.

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export const body = (res: LightMyRequestResponse): any => JSON.parse(res.body);

function expectStatus(res: LightMyRequestResponse, statuses: number[], what: string): LightMyRequestResponse {
  if (!statuses.includes(res.statusCode)) throw new Error(`${what}: HTTP ${res.statusCode} ${res.body}`);
  return res;
}

export async function createUser(app: TestApp, userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = expectStatus(await app.scim('POST', '/Users', { schemas: [USER], userName, active: true, ...extra }), [201], `create user ${userName}`);
  return body(res).id as string;
}

export async function createGroup(app: TestApp, displayName: string, members: string[] = []): Promise<string> {
  const res = expectStatus(
    await app.scim('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }),
    [201],
    `create group ${displayName}`,
  );
  return body(res).id as string;
}

export async function patchGroup(app: TestApp, groupId: string, operations: unknown[]): Promise<LightMyRequestResponse> {
  return app.scim('PATCH', `/Groups/${groupId}`, { schemas: [PATCH], Operations: operations });
}

export const addMembers = (userIds: string[]) => ({ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) });
export const removeMembers = (userIds: string[]) => ({ op: 'remove', path: 'members', value: userIds.map((value) => ({ value })) });
export const removeMemberByFilter = (userId: string) => ({ op: 'remove', path: `members[value eq "${userId}"]` });

/** Runs fn as the database owner with triggers off: what an attacker with owner rights can do. */
export async function asOwnerWithoutTriggers(db: Db, fn: (trx: Transaction<Database>) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await fn(trx);
  });
}

export async function eventCount(db: Db, workspaceId: string): Promise<number> {
  const row = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow();
  return Number(row.n);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Appends events stamped `occurredAt` (in the past) with the statement appendAuditEvents uses —
 * what the log would hold had the bridge run back then. For retention tests.
 */
export async function appendBackdated(db: Db, workspaceId: string, occurredAt: Date, events: NewAuditEvent[], actor: AuditActor = { type: 'system', id: 'history' }): Promise<string[]> {
  const ids = events.map((e) => e.id ?? newAuditEventId());
  const chunk: Chunk = {
    ids,
    types: events.map((e) => e.type),
    targetTypes: events.map((e) => e.targetType),
    targetIds: events.map((e) => e.targetId),
    data: events.map((e) => canonicalAuditData(e.data)),
    causeIds: events.map((e) => e.causeId ?? ''),
  };
  await db.transaction().execute((trx) => insertEventsStatement(workspaceId, occurredAt, actor, null, chunk).execute(trx));
  return ids;
}

/** Seals what has committed, unsigned, as the service's sealer would. */
export async function seal(db: Db): Promise<number> {
  return sealPending(db, TEST_SEAL);
}

export const TEST_SEAL = { origin: 'codex-scim-bridge.test' };
