import type { LightMyRequestResponse } from 'fastify';
import { sql, type Transaction } from 'kysely';
import { eventHasher } from '../../src/audit/hash-chain.js';
import { newAuditEventId } from '../../src/audit/ids.js';
import { canonicalAuditData } from '../../src/audit/redact.js';
import type { AuditActor, NewAuditEvent } from '../../src/audit/types.js';
import type { Db } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
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

