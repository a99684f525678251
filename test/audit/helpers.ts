import type { LightMyRequestResponse } from 'fastify';
import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import { eventHasher } from '../../src/audit/hash-chain.js';
import { newAuditEventId } from '../../src/audit/ids.js';
import { canonicalAuditData } from '../../src/audit/redact.js';
import type { AuditActor, NewAuditEvent } from '../../src/audit/types.js';
import type { Db } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import type { TestApp } from '../helpers/app.js';
import type { TestDb } from '../helpers/db.js';

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
 * Appends events stamped `occurredAt` (in the past), hashed and linked exactly as
 * appendAuditEvents does — what the chain would hold had the bridge run back then. For retention
 * tests on a fresh workspace: stamps must not go backwards.
 */
export async function appendBackdated(db: Db, workspaceId: string, occurredAt: Date, events: NewAuditEvent[], actor: AuditActor = { type: 'system', id: 'history' }): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('audit_chain_heads').values({ workspace_id: workspaceId }).onConflict((oc) => oc.column('workspace_id').doNothing()).execute();
    const head = await trx.selectFrom('audit_chain_heads').selectAll().where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirstOrThrow();
    if (head.occurred_at && new Date(head.occurred_at).getTime() > occurredAt.getTime()) throw new Error('appendBackdated: stamps must not go backwards');
    const hash = eventHasher({ workspaceId, occurredAt, actor, requestId: null });
    let seq = Number(head.seq);
    let prev = head.hash;
    const ids: string[] = [];
    for (const e of events) {
      const id = e.id ?? newAuditEventId();
      const fields = { id, seq: ++seq, type: e.type, targetType: e.targetType, targetId: e.targetId, causeId: e.causeId ?? null };
      const data = canonicalAuditData(e.data);
      const h = hash(prev, fields, data);
      await trx
        .insertInto('audit_events')
        .values({
          id,
          workspace_id: workspaceId,
          seq: fields.seq,
          occurred_at: occurredAt,
          actor_type: actor.type,
          actor_id: actor.id,
          actor_display: actor.display ?? null,
          request_id: null,
          event_type: e.type,
          target_type: e.targetType,
          target_id: e.targetId,
          data,
          cause_id: fields.causeId,
          prev_hash: prev,
          hash: h,
        })
        .execute();
      prev = h;
      ids.push(id);
    }
    await trx.updateTable('audit_chain_heads').set({ seq, hash: prev, occurred_at: occurredAt }).where('workspace_id', '=', workspaceId).execute();
    return ids;
  });
}

/**
 * Works around a teardown race of the PostgreSQL test harness: pg-pool's end() resolves before its
 * clients' sockets have closed, so the harness's `drop database … with (force)` can terminate a
 * client that is still closing, whose 'error' then reaches the pool with no listener and crashes
 * the test process ("terminating connection due to administrator command"). Registered after the
 * app (tap runs teardowns last-in first-out), this ends the pool and waits until the database
 * has no sessions left, before the harness drops it.
 */
export function closePoolBeforeDrop(t: { teardown(fn: () => unknown): void }, handle: TestDb): void {
  if (handle.dialect !== 'postgres' || !handle.databaseUrl || !process.env.TEST_DATABASE_URL) return;
  const name = decodeURIComponent(new URL(handle.databaseUrl).pathname.slice(1));
  t.teardown(async () => {
    await handle.db.destroy();
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    try {
      for (let i = 0; i < 250; i++) {
        const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
        if (rows[0]?.n === 0) return;
        await sleep(20);
      }
    } finally {
      await admin.end();
    }
  });
}
