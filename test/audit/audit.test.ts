import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import t, { type Test } from 'tap';
import { canonicalJson, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { REDACTED } from '../../src/audit/redact.js';
import type { AuditContext, NewAuditEvent } from '../../src/audit/types.js';
import type { Database } from '../../src/db/types.js';
import { appendAuditEvents, AuditEventError, findChainHead, newAuditEventId } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { verifyAuditChain } from '../../src/services/audit-verify.service.js';
import { createTestDb } from '../helpers/db.js';
import { createPool } from '../../src/db/index.js';

const { db, workspaceId, dialect, databaseUrl } = await createTestDb(t, 'audit');

const actor = { type: 'scim' as const, id: randomUUID(), display: 'Okta provisioning' };
const ctxFor = (ws: string, requestId = 'req-1'): AuditContext => ({ workspaceId: ws, actor, requestId });
const memberAdded = (groupId: string, userId = randomUUID()): NewAuditEvent => ({
  type: 'group.member_added',
  targetType: 'group',
  targetId: groupId,
  data: { userId, reason: 'patch' },
});

async function newWorkspace(): Promise<string> {
  return (await ensureWorkspace(db, `ws-${randomUUID()}`)).workspace.id;
}

async function append(ws: string, events: NewAuditEvent[]): Promise<string[]> {
  return db.transaction().execute((trx) => appendAuditEvents(trx, ctxFor(ws), events));
}

async function seqs(ws: string): Promise<number[]> {
  const rows = await db.selectFrom('audit_events').select('seq').where('workspace_id', '=', ws).orderBy('seq').execute();
  return rows.map((r) => Number(r.seq));
}

/** Runs fn as the database owner with triggers off: what an attacker with owner rights can do. */
async function asOwnerWithoutTriggers(fn: (trx: Transaction<Database>) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await fn(trx);
  });
}

t.test('appends in the transaction, in order, with gapless seq and the stored fields', async (t) => {
  const ws = await newWorkspace();
  const groupId = randomUUID();
  const userId = randomUUID();
  const causeId = newAuditEventId();
  const events: NewAuditEvent[] = [
    { id: causeId, ...memberAdded(groupId, userId) },
    {
      type: 'access.changed',
      targetType: 'user',
      targetId: userId,
      causeId,
      data: { before: [], after: ['codex_local'], granted: ['codex_local'], revoked: [] },
    },
  ];
  const ids = await append(ws, events);
  t.equal(ids.length, 2);
  t.equal(ids[0], causeId, 'a pre-assigned id is kept');
  const rows = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', ws).orderBy('seq').execute();
  t.same(
    rows.map((r) => [r.id, Number(r.seq), r.event_type, r.target_type, r.target_id, r.cause_id]),
    [
      [causeId, 1, 'group.member_added', 'group', groupId, null],
      [ids[1], 2, 'access.changed', 'user', userId, causeId],
    ],
  );
  const [first, second] = rows;
  t.same(first!.data, { userId, reason: 'patch' });
  t.equal(first!.actor_type, 'scim');
  t.equal(first!.actor_id, actor.id);
  t.equal(first!.actor_display, actor.display);
  t.equal(first!.request_id, 'req-1');
  t.equal(first!.prev_hash, GENESIS_HASH);
  t.equal(second!.prev_hash, first!.hash);
  t.equal(new Date(first!.occurred_at).getTime() % 1, 0);

  await append(ws, [memberAdded(groupId)]);
  t.same(await seqs(ws), [1, 2, 3], 'a second transaction continues the chain');
  const head = await findChainHead(db, ws);
  t.equal(head?.seq, 3);
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 3 });
  t.same(await append(ws, []), [], 'nothing to append is a no-op');
});

t.test('upper-case uuids are stored and hashed lower-case, as PostgreSQL returns them', async (t) => {
  const ws = await newWorkspace();
  const id = newAuditEventId().toUpperCase();
  const ids = await db.transaction().execute((trx) =>
    appendAuditEvents(trx, { workspaceId: ws.toUpperCase(), actor }, [
      { id, ...memberAdded(randomUUID()) },
      { ...memberAdded(randomUUID()), causeId: id },
    ]),
  );
  t.same(ids, [id.toLowerCase(), ids[1]]);
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 2 });
});

t.test('the hash is sha256(prev_hash + canonical JSON of the event) — the documented format', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [{ ...memberAdded(randomUUID()), data: { z: 1, a: { y: [true, null, 'é'], b: 2.5 } } }]);
  const row = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  const doc = {
    v: 1,
    id: row.id,
    workspaceId: ws,
    seq: 1,
    occurredAt: new Date(row.occurred_at).toISOString(),
    actor: { type: 'scim', id: actor.id, display: actor.display },
    requestId: 'req-1',
    type: row.event_type,
    targetType: row.target_type,
    targetId: row.target_id,
    data: { a: { b: 2.5, y: [true, null, 'é'] }, z: 1 },
    causeId: null,
  };
  const expected = createHash('sha256').update(GENESIS_HASH + canonicalJson(doc)).digest('hex');
  t.equal(row.hash, expected);
});

t.test('a rolled-back change leaves no event and does not advance the chain', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [memberAdded(randomUUID())]);
  await t.rejects(
    db.transaction().execute(async (trx) => {
      await appendAuditEvents(trx, ctxFor(ws), [memberAdded(randomUUID()), memberAdded(randomUUID())]);
      throw new Error('failure injected after the audit append');
    }),
    { message: 'failure injected after the audit append' },
  );
  t.same(await seqs(ws), [1]);
  t.equal((await findChainHead(db, ws))?.seq, 1);
  await append(ws, [memberAdded(randomUUID())]);
  t.same(await seqs(ws), [1, 2], 'the next append reuses the rolled-back seq: no gap');
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 2 });
});

t.test('refuses to run outside a transaction and refuses malformed events', async (t) => {
  const ws = await newWorkspace();
  await t.rejects(appendAuditEvents(db as unknown as Transaction<Database>, ctxFor(ws), [memberAdded(randomUUID())]), AuditEventError);
  await t.rejects(append(ws, [{ ...memberAdded(randomUUID()), targetType: 'nope' as 'user' }]), AuditEventError);
  await t.rejects(append(ws, [{ ...memberAdded(randomUUID()), type: 'Member Added' }]), AuditEventError);
  await t.rejects(append(ws, [{ ...memberAdded(randomUUID()), causeId: 'not-a-uuid' }]), AuditEventError);
  await t.rejects(
    db.transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: 'Bearer abc.def' } }, [memberAdded(randomUUID())])),
    AuditEventError,
  );
  t.same(await seqs(ws), []);
});

t.test('secrets never reach the stored event', async (t) => {
  const ws = await newWorkspace();
  const userId = randomUUID();
  await append(ws, [
    {
      type: 'user.updated',
      targetType: 'user',
      targetId: userId,
      data: {
        changed: ['password', 'name.givenName'],
        before: { 'name.givenName': 'Ann' },
        after: { 'name.givenName': 'Anne', password: 'hunter2' },
        operations: [
          { op: 'replace', path: 'password', value: 'hunter2' },
          { op: 'replace', value: { 'urn:ietf:params:scim:schemas:core:2.0:User:password': 'x', active: false } },
        ],
        headers: { Authorization: 'Bearer s3cr3t', 'x-request-id': 'r1' },
        tokenId: 'a-token-id',
        clientSecret: 'abc',
        note: 'Basic dXNlcjpwYXNz',
        permissions: { access_tokens: 'on', codex_local: true },
      },
    },
  ]);
  const row = await db.selectFrom('audit_events').select('data').where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  t.same(row.data, {
    changed: ['password', 'name.givenName'],
    before: { 'name.givenName': 'Ann' },
    after: { 'name.givenName': 'Anne', password: REDACTED },
    operations: [
      { op: 'replace', path: 'password', value: REDACTED },
      { op: 'replace', value: { 'urn:ietf:params:scim:schemas:core:2.0:User:password': REDACTED, active: false } },
    ],
    headers: { Authorization: REDACTED, 'x-request-id': 'r1' },
    tokenId: 'a-token-id',
    clientSecret: REDACTED,
    note: REDACTED,
    permissions: { access_tokens: 'on', codex_local: true },
  });
  t.notMatch(JSON.stringify(row.data), /hunter2|s3cr3t|dXNlcjpwYXNz/);
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 1 });
});

t.test('data that only survives a jsonb round trip canonically still verifies', async (t) => {
  const ws = await newWorkspace();
  const weird: Record<string, unknown> = {
    '10': 'index-like keys sort as strings',
    '2': 'b',
    b: { '1': 1, a: [1, { d: 1, c: 2 }] },
    unicode: 'ü 🚀 \u2028',
    nul: 'a\u0000b',
    lone: 'x\ud800y',
    big: 12345678901234567890,
    small: 1e-7,
    neg: -0,
    inf: Infinity,
    date: new Date('2026-01-02T03:04:05.678Z'),
    skipped: undefined,
    nested: { deeper: { deepest: [[], {}] } },
  };
  await append(ws, [{ ...memberAdded(randomUUID()), data: weird }]);
  const row = await db.selectFrom('audit_events').select('data').where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  t.equal((row.data as Record<string, unknown>).nul, 'a\ufffdb');
  t.equal((row.data as Record<string, unknown>).lone, 'x\ufffdy');
  t.equal((row.data as Record<string, unknown>).date, '2026-01-02T03:04:05.678Z');
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 1 });
});

t.test('random JSON data survives the jsonb round trip hash-identically', async (t) => {
  const ws = await newWorkspace();
  const samples = fc.sample(
    fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ stringUnit: 'binary' }), { maxKeys: 6 }),
    { numRuns: 300, seed: 2026 },
  );
  samples.push({ n: [1e21, -0, 5e-324, 1.7976931348623157e308, 0.1, 123456789012345680000, -1e-7] });
  await append(ws, samples.map((data) => ({ ...memberAdded(randomUUID()), data })));
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: samples.length });
});

t.test('more events than one insert chunk, verified in small pages', async (t) => {
  const ws = await newWorkspace();
  const groupId = randomUUID();
  const events: NewAuditEvent[] = [];
  for (let i = 0; i < 6_000; i++) {
    const id = newAuditEventId();
    const userId = randomUUID();
    events.push({ id, ...memberAdded(groupId, userId) });
    events.push({ type: 'access.changed', targetType: 'user', targetId: userId, causeId: id, data: { before: [], after: ['codex_local'], granted: ['codex_local'], revoked: [] } });
  }
  const ids = await append(ws, events);
  t.equal(ids.length, 12_000);
  t.equal(new Set(ids).size, 12_000);
  const s = await seqs(ws);
  t.equal(s.length, 12_000);
  t.ok(s.every((v, i) => v === i + 1), 'seq 1..12000');
  t.same(await verifyAuditChain(db, ws, { pageSize: 1_000 }), { ok: true, checked: 12_000 });
  // The partial expression index answers "a user's membership history".
  const userId = (events[10]!.data as { userId: string }).userId;
  const hist = await db
    .selectFrom('audit_events')
    .select(['event_type', 'seq'])
    .where('workspace_id', '=', ws)
    .where(sql<string>`data->>'userId'`, '=', userId)
    .execute();
  t.same(hist.map((r) => r.event_type), ['group.member_added']);
});

t.test('the database refuses UPDATE, DELETE and TRUNCATE of audit events', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [memberAdded(randomUUID()), memberAdded(randomUUID())]);
  await t.rejects(db.updateTable('audit_events').set({ data: JSON.stringify({ userId: 'x' }) }).where('workspace_id', '=', ws).execute(), /append-only: UPDATE refused/);
  await t.rejects(db.deleteFrom('audit_events').where('workspace_id', '=', ws).execute(), /append-only: DELETE refused/);
  await t.rejects(sql`truncate audit_events`.execute(db), /append-only: TRUNCATE refused/);
  await t.rejects(
    db.transaction().execute(async (trx) => {
      await sql`set local bridge.audit_purge = 'on'`.execute(trx);
      await trx.updateTable('audit_events').set({ actor_id: 'someone-else' }).where('workspace_id', '=', ws).execute();
    }),
    /append-only: UPDATE refused/,
    'the purge setting does not allow UPDATE',
  );
  // The chain head only moves forward, and not at all outside an append.
  await t.rejects(db.updateTable('audit_chain_heads').set({ seq: 1 }).where('workspace_id', '=', ws).execute(), /may only advance/);
  await t.rejects(db.updateTable('audit_chain_heads').set({ hash: GENESIS_HASH }).where('workspace_id', '=', ws).execute(), /may only advance/);
  await t.rejects(db.updateTable('audit_chain_heads').set({ anchor_seq: 1 }).where('workspace_id', '=', ws).execute(), /anchor moves only forward/);
  await t.rejects(db.deleteFrom('audit_chain_heads').where('workspace_id', '=', ws).execute(), /DELETE refused/);
  await t.rejects(sql`truncate audit_chain_heads`.execute(db), /TRUNCATE refused/);
  t.same(await seqs(ws), [1, 2]);
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 2 });

  // Only inside a purge transaction may events be deleted (the purge itself comes later).
  await db.transaction().execute(async (trx) => {
    await sql`set local bridge.audit_purge = 'on'`.execute(trx);
    await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).where('seq', '=', 1).execute();
    // The purge moves the anchor to the last purged event, so the chain verifies from there.
    const purged = await trx.selectFrom('audit_events').select('prev_hash').where('workspace_id', '=', ws).where('seq', '=', 2).executeTakeFirstOrThrow();
    await trx.updateTable('audit_chain_heads').set({ anchor_seq: 1, anchor_hash: purged.prev_hash }).where('workspace_id', '=', ws).execute();
  });
  t.same(await seqs(ws), [2]);
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 1 }, 'verifies from the anchor after a purge');
});

t.test('tampering by the database owner is found at the right seq', async (t) => {
  const setup = async () => {
    const ws = await newWorkspace();
    for (let i = 0; i < 5; i++) await append(ws, [memberAdded(randomUUID()), memberAdded(randomUUID())]);
    t.same(await verifyAuditChain(db, ws), { ok: true, checked: 10 });
    const rows = await db.selectFrom('audit_events').select(['id', 'seq', 'hash']).where('workspace_id', '=', ws).orderBy('seq').execute();
    return { ws, rows };
  };

  await t.test('changed data', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) =>
      trx.updateTable('audit_events').set({ data: JSON.stringify({ userId: randomUUID(), reason: 'patch' }) }).where('workspace_id', '=', ws).where('seq', '=', 7).execute(),
    );
    t.same(await verifyAuditChain(db, ws, { pageSize: 3 }), { ok: false, checked: 6, firstBroken: { seq: 7, id: rows[6]!.id, reason: 'hash_mismatch' } });
  });

  await t.test('changed actor, time or target', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.updateTable('audit_events').set({ actor_id: 'admin:mallory' }).where('workspace_id', '=', ws).where('seq', '=', 2).execute());
    t.same((await verifyAuditChain(db, ws)).firstBroken, { seq: 2, id: rows[1]!.id, reason: 'hash_mismatch' });
    const { ws: ws2, rows: rows2 } = await setup();
    await asOwnerWithoutTriggers((trx) =>
      trx.updateTable('audit_events').set({ occurred_at: new Date('2020-01-01T00:00:00Z') }).where('workspace_id', '=', ws2).where('seq', '=', 9).execute(),
    );
    t.same((await verifyAuditChain(db, ws2)).firstBroken, { seq: 9, id: rows2[8]!.id, reason: 'hash_mismatch' });
  });

  await t.test('a changed event with a recomputed hash breaks the next link', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.updateTable('audit_events').set({ hash: 'f'.repeat(64) }).where('workspace_id', '=', ws).where('seq', '=', 4).execute());
    t.same((await verifyAuditChain(db, ws)).firstBroken, { seq: 4, id: rows[3]!.id, reason: 'hash_mismatch' });
    const { ws: ws2, rows: rows2 } = await setup();
    // Rewriting event 4 consistently (new hash) still cannot fix event 5's prev_hash.
    await asOwnerWithoutTriggers(async (trx) => {
      const r = await trx.selectFrom('audit_events').selectAll().where('workspace_id', '=', ws2).where('seq', '=', 4).executeTakeFirstOrThrow();
      const forgedData = { userId: randomUUID(), reason: 'patch' };
      const doc = {
        v: 1,
        id: r.id,
        workspaceId: ws2,
        seq: 4,
        occurredAt: new Date(r.occurred_at).toISOString(),
        actor: { type: r.actor_type, id: r.actor_id, display: r.actor_display },
        requestId: r.request_id,
        type: r.event_type,
        targetType: r.target_type,
        targetId: r.target_id,
        data: forgedData,
        causeId: r.cause_id,
      };
      const forged = createHash('sha256').update(r.prev_hash + canonicalJson(doc)).digest('hex');
      await trx.updateTable('audit_events').set({ data: JSON.stringify(forgedData), hash: forged }).where('id', '=', r.id).execute();
    });
    t.same((await verifyAuditChain(db, ws2)).firstBroken, { seq: 5, id: rows2[4]!.id, reason: 'prev_hash_mismatch' });
  });

  await t.test('a deleted event, and a deleted tail', async (t) => {
    const { ws } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.deleteFrom('audit_events').where('workspace_id', '=', ws).where('seq', '=', 5).execute());
    t.same(await verifyAuditChain(db, ws), { ok: false, checked: 4, firstBroken: { seq: 5, id: null, reason: 'seq_gap' } });
    const { ws: ws2 } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.deleteFrom('audit_events').where('workspace_id', '=', ws2).where('seq', '>=', 9).execute());
    t.same(await verifyAuditChain(db, ws2), { ok: false, checked: 8, firstBroken: { seq: 9, id: null, reason: 'head_mismatch' } });
  });
});

t.test('occurred_at never goes backwards, even when another instance has a clock ahead', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [memberAdded(randomUUID())]);
  const ahead = new Date(Date.now() + 3_600_000);
  // Only the time of the head changes: allowed (seq and hash stay).
  await db.updateTable('audit_chain_heads').set({ occurred_at: ahead }).where('workspace_id', '=', ws).execute();
  await append(ws, [memberAdded(randomUUID())]);
  const rows = await db.selectFrom('audit_events').select(['seq', 'occurred_at']).where('workspace_id', '=', ws).orderBy('seq').execute();
  t.equal(new Date(rows[1]!.occurred_at).getTime(), ahead.getTime());
  t.same(await verifyAuditChain(db, ws), { ok: true, checked: 2 });
});

t.test('concurrent appenders never fork or gap the chain', async (t) => {
  // Two service instances: on PostgreSQL, a second pool on the same database.
  const other =
    dialect === 'postgres' && databaseUrl
      ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(databaseUrl, 5) }) })
      : db;
  try {
    await concurrentRounds(t, other);
  } finally {
    // Before the file's database is dropped (a live pool there would see its sessions killed).
    if (other !== db) await other.destroy();
  }
});

async function concurrentRounds(t: Test, other: Kysely<Database>): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  for (const fresh of [true, false]) {
    // A fresh workspace: the chain head does not exist yet, so the appenders also race to create it.
    const ws = fresh ? await newWorkspace() : workspaceId;
    const before = (await findChainHead(db, ws))?.seq ?? 0;
    const writers = 8;
    const perWriter = 25;
    const started: number[] = [];
    // On PostgreSQL, watch for appenders queueing on the head lock: proof the test really overlaps.
    let done = false;
    let sawWaiting = false;
    const monitor = (async () => {
      if (dialect !== 'postgres') return;
      while (!done) {
        const r = await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted`.execute(db);
        if ((r.rows[0]?.n ?? 0) > 0) sawWaiting = true;
        await sleep(1);
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        (w % 2 ? other : db).transaction().execute(async (trx) => {
          // Each transaction has done its own change and holds it open before and after appending.
          await sql`select 1`.execute(trx);
          started.push(w);
          await sleep(5);
          await appendAuditEvents(trx, ctxFor(ws, `req-${w}`), Array.from({ length: perWriter }, () => memberAdded(randomUUID())));
          await sleep(5);
        }),
      ),
    );
    done = true;
    await monitor;
    t.equal(started.length, writers);
    if (dialect === 'postgres') t.ok(sawWaiting, `fresh=${fresh}: appenders waited for each other`);
    const s = await seqs(ws);
    t.equal(s.length, before + writers * perWriter, `fresh=${fresh}: every event stored`);
    t.ok(
      s.every((v, i) => v === i + 1),
      `fresh=${fresh}: seq is gapless`,
    );
    // Each writer's events are contiguous: the head lock serialises whole calls.
    const rows = await db.selectFrom('audit_events').select(['seq', 'request_id']).where('workspace_id', '=', ws).where('seq', '>', before).orderBy('seq').execute();
    let runs = 0;
    for (let i = 0; i < rows.length; i++) if (i === 0 || rows[i]!.request_id !== rows[i - 1]!.request_id) runs++;
    t.equal(runs, writers, `fresh=${fresh}: one contiguous run per transaction`);
    t.same(await verifyAuditChain(db, ws), { ok: true, checked: before + writers * perWriter });
  }
}
