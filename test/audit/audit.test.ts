import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import t, { type Test } from 'tap';
import { canonicalJson, eventHasher, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { canonicalAuditData } from '../../src/audit/redact.js';
import { migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { verifyAudit } from '../../src/services/audit-query.service.js';
import { REDACTED } from '../../src/audit/redact.js';
import { sealPending } from '../../src/audit/sealer.js';
import type { AuditContext, NewAuditEvent } from '../../src/audit/types.js';
import type { Database } from '../../src/db/types.js';
import { appendAuditEvents, AuditEventError, newAuditEventId } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { findAuditLog } from '../../src/services/audit-log.service.js';
import { verifyAuditLog } from '../../src/services/audit-verify.service.js';
import { createEmptyTestDb, createTestDb, scaled } from '../helpers/db.js';
import { createPool } from '../../src/db/index.js';
import { TEST_SEAL } from './helpers.js';

// The audit log's write path and its sealing (issues 5, 11): events inserted in the change's
// transaction without a lock, sealed into the workspace's Merkle log afterwards, checked by verify.

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

async function leaves(ws: string): Promise<Array<number | null>> {
  const rows = await db.selectFrom('audit_events').select('leaf_index').where('workspace_id', '=', ws).orderBy('seq').execute();
  return rows.map((r) => (r.leaf_index === null ? null : Number(r.leaf_index)));
}

const seal = () => sealPending(db, TEST_SEAL);
const verify = async (ws: string, pageSize?: number) => {
  await seal();
  const { log: _log, ...result } = await verifyAuditLog(db, ws, { pageSize });
  return result;
};

/** Runs fn as the database owner with triggers off: what an attacker with owner rights can do. */
async function asOwnerWithoutTriggers(fn: (trx: Transaction<Database>) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await fn(trx);
  });
}

t.test('appends in the transaction, in order, unsealed until the sealer runs', async (t) => {
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
    rows.map((r) => [r.id, r.event_type, r.target_type, r.target_id, r.cause_id, r.leaf_index, r.hash]),
    [
      [causeId, 'group.member_added', 'group', groupId, null, null, null],
      [ids[1], 'access.changed', 'user', userId, causeId, null, null],
    ],
  );
  t.ok(Number(rows[1]!.seq) > Number(rows[0]!.seq), 'seq follows the order of the call');
  const [first] = rows;
  t.same(first!.data, { userId, reason: 'patch' });
  t.equal(first!.actor_type, 'scim');
  t.equal(first!.actor_id, actor.id);
  t.equal(first!.actor_display, actor.display);
  t.equal(first!.request_id, 'req-1');

  await append(ws, [memberAdded(groupId)]);
  t.equal(await seal(), 3, 'the sealer seals what committed');
  t.same(await leaves(ws), [0, 1, 2], 'leaves in seq order');
  t.equal(await seal(), 0, 'never twice');
  t.match(await findAuditLog(db, ws), { treeSize: 3, checkpointSize: 3, checkpoint: /^codex-scim-bridge\.test\/workspaces\/[0-9a-f-]+\n3\n[A-Za-z0-9+/]{43}=\n$/ });
  t.same(await verify(ws), { ok: true, checked: 3 });
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
  t.same(await verify(ws), { ok: true, checked: 2 });
});

t.test('a leaf is SHA-256(0x00 ‖ canonical JSON of the event) — the documented format', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [{ ...memberAdded(randomUUID()), data: { z: 1, a: { y: [true, null, 'é'], b: 2.5 } } }]);
  await seal();
  const row = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  const doc = {
    v: 2,
    id: row.id,
    workspaceId: ws,
    seq: Number(row.seq),
    occurredAt: new Date(row.occurred_at).toISOString(),
    actor: { type: 'scim', id: actor.id, display: actor.display },
    requestId: 'req-1',
    type: row.event_type,
    targetType: row.target_type,
    targetId: row.target_id,
    data: { a: { b: 2.5, y: [true, null, 'é'] }, z: 1 },
    causeId: null,
  };
  const entry = canonicalJson(doc);
  t.match(entry, /^\{"actor":\{"display":"Okta provisioning","id":"[^"]+","type":"scim"\},"causeId":null,"data":\{"a":\{"b":2\.5,"y":\[true,null,"é"\]\},"z":1\},"id":/);
  const expected = createHash('sha256').update(Buffer.from([0])).update(entry).digest();
  const node = await db.selectFrom('audit_tree_nodes').select('hash').where('workspace_id', '=', ws).where('level', '=', 0).where('index', '=', 0).executeTakeFirstOrThrow();
  t.same(Buffer.from(node.hash), expected);
  const log = await findAuditLog(db, ws);
  t.same(log?.rootHash, expected, 'a one-leaf tree: the root is the leaf');
});

t.test('a rolled-back change leaves no event and no leaf', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [memberAdded(randomUUID())]);
  await t.rejects(
    db.transaction().execute(async (trx) => {
      await appendAuditEvents(trx, ctxFor(ws), [memberAdded(randomUUID()), memberAdded(randomUUID())]);
      throw new Error('failure injected after the audit append');
    }),
    { message: 'failure injected after the audit append' },
  );
  t.equal((await seqs(ws)).length, 1);
  await append(ws, [memberAdded(randomUUID())]);
  await seal();
  t.same(await leaves(ws), [0, 1], 'the rolled-back seqs are a gap in seq, none in the leaves');
  t.same(await verify(ws), { ok: true, checked: 2 });
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
  t.same(await verify(ws), { ok: true, checked: 1 });
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
    // eslint-disable-next-line no-loss-of-precision -- the point: a number beyond 2^53 as JSON has it
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
  t.same(await verify(ws), { ok: true, checked: 1 });
});

t.test('random JSON data survives the jsonb round trip hash-identically', async (t) => {
  const ws = await newWorkspace();
  const samples = fc.sample(
    fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ stringUnit: 'binary' }), { maxKeys: 6 }),
    { numRuns: scaled(300, 120), seed: 2026 },
  );
  samples.push({ n: [1e21, -0, 5e-324, 1.7976931348623157e308, 0.1, 123456789012345680000, -1e-7] });
  await append(ws, samples.map((data) => ({ ...memberAdded(randomUUID()), data })));
  t.same(await verify(ws), { ok: true, checked: samples.length });
});

t.test('more events than one insert chunk, verified in small pages', async (t) => {
  const ws = await newWorkspace();
  const groupId = randomUUID();
  const events: NewAuditEvent[] = [];
  for (let i = 0; i < 3_000; i++) {
    const id = newAuditEventId();
    const userId = randomUUID();
    events.push({ id, ...memberAdded(groupId, userId) });
    events.push({ type: 'access.changed', targetType: 'user', targetId: userId, causeId: id, data: { before: [], after: ['codex_local'], granted: ['codex_local'], revoked: [] } });
  }
  const ids = await append(ws, events);
  t.equal(ids.length, 6_000);
  t.equal(new Set(ids).size, 6_000);
  t.equal((await seqs(ws)).length, 6_000);
  t.equal(await sealPending(db, { ...TEST_SEAL, batchSize: 2_500 }), 6_000, 'sealed in three batches');
  const sealed = await leaves(ws);
  t.ok(sealed.every((v, i) => v === i), 'leaves 0..5999 in seq order');
  t.same(await verify(ws, 1_000), { ok: true, checked: 6_000 });
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

t.test('the database keeps the log append-only for every role that cannot disable triggers', async (t) => {
  const ws = await newWorkspace();
  await append(ws, [memberAdded(randomUUID()), memberAdded(randomUUID())]);
  await seal();
  await t.rejects(db.updateTable('audit_events').set({ data: JSON.stringify({ userId: 'x' }) }).where('workspace_id', '=', ws).execute(), /only the sealer sets leaf_index, once/);
  await t.rejects(db.updateTable('audit_events').set({ leaf_index: 7 }).where('workspace_id', '=', ws).execute(), /only the sealer sets leaf_index, once/, 'a sealed leaf never moves');
  await t.rejects(db.deleteFrom('audit_events').where('workspace_id', '=', ws).execute(), /append-only: DELETE refused/);
  await t.rejects(sql`truncate audit_events cascade`.execute(db), /TRUNCATE refused/);
  await t.rejects(
    db.transaction().execute(async (trx) => {
      await sql`set local bridge.audit_purge = 'on'`.execute(trx);
      await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).execute();
    }),
    /append-only: DELETE refused/,
    'the old purge flag no longer opens the door',
  );
  await t.rejects(
    db.transaction().execute(async (trx) => {
      // An audit.purged record of another transaction does not count: only the purge's own.
      await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).execute();
    }),
    /append-only: DELETE refused/,
  );
  // The tree and the log row only move forward.
  await t.rejects(db.updateTable('audit_tree_nodes').set({ hash: Buffer.alloc(32) }).where('workspace_id', '=', ws).execute(), /append-only/);
  await t.rejects(db.deleteFrom('audit_tree_nodes').where('workspace_id', '=', ws).execute(), /append-only/);
  await t.rejects(sql`truncate audit_tree_nodes`.execute(db), /append-only/);
  await t.rejects(db.updateTable('audit_logs').set({ tree_size: 1 }).where('workspace_id', '=', ws).execute(), /may only move forward/);
  await t.rejects(db.updateTable('audit_logs').set({ root_hash: Buffer.alloc(32) }).where('workspace_id', '=', ws).execute(), /may only move forward/);
  await t.rejects(db.updateTable('audit_logs').set({ chain_hash: 'f'.repeat(64) }).where('workspace_id', '=', ws).execute(), /may only move forward/);
  await t.rejects(db.deleteFrom('audit_logs').where('workspace_id', '=', ws).execute(), /may only move forward/);
  await t.rejects(sql`truncate audit_logs`.execute(db), /append-only/);
  t.same(await verify(ws), { ok: true, checked: 2 });

  // What the retention purge does, in the order it does it: record itself, then delete what the record covers.
  const [first] = await db.selectFrom('audit_events').select('seq').where('workspace_id', '=', ws).orderBy('seq').execute();
  await db.transaction().execute(async (trx) => {
    await appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'system', id: 'retention' } }, [
      { type: 'audit.purged', targetType: 'workspace', targetId: ws, data: { throughSeq: Number(first!.seq), deleted: 1 } },
    ]);
    await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).where('seq', '=', Number(first!.seq)).execute();
    await t.rejects(trx.deleteFrom('audit_events').where('workspace_id', '=', ws).where('event_type', '=', 'group.member_added').execute(), /DELETE refused/, 'but nothing beyond it');
  }).catch(() => undefined);
  t.equal((await seqs(ws)).length, 2, 'the failed attempt beyond the record rolled the whole purge back');
});

t.test('tampering by the database owner is found, naming the event', async (t) => {
  const setup = async () => {
    const ws = await newWorkspace();
    for (let i = 0; i < 5; i++) await append(ws, [memberAdded(randomUUID()), memberAdded(randomUUID())]);
    t.same(await verify(ws), { ok: true, checked: 10 });
    const rows = await db.selectFrom('audit_events').select(['id', 'seq']).where('workspace_id', '=', ws).orderBy('seq').execute();
    return { ws, rows: rows.map((r) => ({ id: r.id, seq: Number(r.seq) })) };
  };

  await t.test('changed data', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) =>
      trx.updateTable('audit_events').set({ data: JSON.stringify({ userId: randomUUID(), reason: 'patch' }) }).where('id', '=', rows[6]!.id).execute(),
    );
    t.same(await verify(ws, 3), { ok: false, checked: 6, firstBroken: { seq: rows[6]!.seq, id: rows[6]!.id, reason: 'leaf_mismatch' } });
  });

  await t.test('changed actor, time or target', async (t) => {
    for (const change of [{ actor_id: 'admin:mallory' }, { occurred_at: new Date('2020-01-01T00:00:00Z') }, { target_id: randomUUID() }]) {
      const { ws, rows } = await setup();
      await asOwnerWithoutTriggers((trx) => trx.updateTable('audit_events').set(change).where('id', '=', rows[1]!.id).execute());
      t.same((await verify(ws)).firstBroken, { seq: rows[1]!.seq, id: rows[1]!.id, reason: 'leaf_mismatch' }, String(Object.keys(change)[0]));
    }
  });

  await t.test('an event moved to another leaf', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers(async (trx) => {
      await trx.updateTable('audit_events').set({ leaf_index: 100 }).where('id', '=', rows[3]!.id).execute();
    });
    t.match(await verify(ws), { ok: false, firstBroken: { reason: 'events_missing' } });
  });

  await t.test('a changed leaf with the tree recomputed above it no longer matches the root', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.updateTable('audit_tree_nodes').set({ hash: Buffer.alloc(32, 1) }).where('workspace_id', '=', ws).where('level', '=', 0).where('index', '=', 4).execute());
    t.same((await verify(ws)).firstBroken, { seq: rows[4]!.seq, id: rows[4]!.id, reason: 'leaf_mismatch' });
  });

  await t.test('a deleted event, and a deleted tail', async (t) => {
    const { ws, rows } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.deleteFrom('audit_events').where('id', '=', rows[4]!.id).execute());
    t.match(await verify(ws), { ok: false, checked: 9, firstBroken: { reason: 'events_missing' } });
    const { ws: ws2, rows: rows2 } = await setup();
    await asOwnerWithoutTriggers((trx) => trx.deleteFrom('audit_events').where('workspace_id', '=', ws2).where('seq', '>=', rows2[8]!.seq).execute());
    t.match(await verify(ws2), { ok: false, checked: 8, firstBroken: { reason: 'events_missing' } });
  });
});

t.test('concurrent appenders never wait for each other, and every event is sealed exactly once', async (t) => {
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
  const ws = workspaceId;
  await seal();
  const before = (await findAuditLog(db, ws))?.treeSize ?? 0;
  const writers = 8;
  const perWriter = 25;
  const inside = new Set<number>();
  let overlapped = 0;
  await Promise.all(
    Array.from({ length: writers }, (_, w) =>
      (w % 2 ? other : db).transaction().execute(async (trx) => {
        await appendAuditEvents(trx, ctxFor(ws, `req-${w}`), Array.from({ length: perWriter }, () => memberAdded(randomUUID())));
        // Each transaction holds its events uncommitted for a while: others append meanwhile.
        inside.add(w);
        overlapped = Math.max(overlapped, inside.size);
        await sleep(20);
        inside.delete(w);
      }),
    ),
  );
  if (dialect === 'postgres') t.ok(overlapped > 1, `${overlapped} writers held appended events at once: nobody waited`);
  await seal();
  const log = await findAuditLog(db, ws);
  t.equal(log?.treeSize, before + writers * perWriter, 'every event sealed');
  const rows = await db.selectFrom('audit_events').select(['seq', 'leaf_index']).where('workspace_id', '=', ws).orderBy('seq').execute();
  t.same(
    rows.map((r) => Number(r.leaf_index)),
    rows.map((_, i) => i),
    'leaves 0..n-1, in seq order, none twice',
  );
  t.same(await verify(ws), { ok: true, checked: before + writers * perWriter });
}

// Upgrading a database whose trail is the old SHA-256 hash chain: its events become the first
// leaves of each workspace's Merkle log, in chain order; the old chain still verifies (from its
// purge anchor, where a purge had moved it), and the leaves protect its hashes too.
/** checkpointDigest of an empty checkpoint, in its fixed text form (written out: the function reads columns later migrations add). */
const EMPTY_CHECKPOINT = { members: 0, access: 0, sha256: createHash('sha256').update('members\n\naccess\n').digest('hex') };

t.test('upgrading from the old hash chain', async (t) => {
  const { db } = await createEmptyTestDb(t);
  await migrateTo(db, '2026120103_oauth_clients');

  const actor = { type: 'scim' as const, id: 'okta-token' };

  const member = (): OldEvent => ({ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } });
  type OldEvent = { type: string; targetType: 'group' | 'workspace'; targetId: string; data: Record<string, unknown> };

  /** Writes a chain as the old appender did: seq from the head, each event linked to the previous. */
  async function oldChain(workspaceId: string, events: OldEvent[], anchor: { seq: number; hash: string }): Promise<string[]> {
    const occurredAt = new Date('2026-11-20T10:00:00.000Z');
    const hash = eventHasher({ workspaceId, occurredAt, actor, requestId: 'req-old' });
    let prev = anchor.hash;
    const ids: string[] = [];
    const count = events.length;
    for (const [i, e] of events.entries()) {
      const fields = { id: newAuditEventId(), seq: anchor.seq + i + 1, type: e.type, targetType: e.targetType, targetId: e.targetId, causeId: null };
      const data = canonicalAuditData(e.data);
      const h = hash(prev, fields, data);
      await sql`
        insert into audit_events (id, workspace_id, seq, occurred_at, actor_type, actor_id, actor_display, request_id, event_type, target_type, target_id, data, cause_id, prev_hash, hash)
        values (${fields.id}, ${workspaceId}, ${fields.seq}, ${occurredAt}, 'scim', ${actor.id}, null, 'req-old', ${fields.type}, ${fields.targetType}, ${fields.targetId}, ${data}::jsonb, null, ${prev}, ${h})`.execute(db);
      prev = h;
      ids.push(fields.id);
    }
    await sql`
      insert into audit_chain_heads (workspace_id, seq, hash, occurred_at, anchor_seq, anchor_hash)
      values (${workspaceId}, ${anchor.seq + count}, ${prev}, ${occurredAt}, ${anchor.seq}, ${anchor.hash})`.execute(db);
    return ids;
  }

  const whole = (await ensureWorkspace(db, 'whole')).workspace.id;
  const purged = (await ensureWorkspace(db, 'purged')).workspace.id;
  const wholeIds = await oldChain(whole, [member(), member(), member(), member(), member(), member()], { seq: 0, hash: GENESIS_HASH });
  // A workspace whose first four events a retention purge removed before the upgrade, recording itself.
  const anchor = { seq: 4, hash: 'ab'.repeat(32) };
  const purgeRecord: OldEvent = {
    type: 'audit.purged',
    targetType: 'workspace',
    targetId: purged,
    data: { throughSeq: 4, anchorHash: anchor.hash, deleted: 4, checkpoint: EMPTY_CHECKPOINT },
  };
  const purgedIds = await oldChain(purged, [member(), purgeRecord, member()], anchor);

  await migrateToLatest(db);

  await t.test('old events become the first leaves, in chain order, and both chains still verify', async (t) => {
    await sealPending(db, TEST_SEAL);
    for (const [ws, ids] of [
      [whole, wholeIds],
      [purged, purgedIds],
    ] as const) {
      const rows = await db.selectFrom('audit_events').select(['id', 'leaf_index', 'hash']).where('workspace_id', '=', ws).orderBy('leaf_index').execute();
      t.same(rows.map((r) => r.id), ids, 'leaf order is chain order');
      t.same(rows.map((r) => Number(r.leaf_index)), ids.map((_, i) => i));
      t.match(await verifyAudit(db, ws), { ok: true, checked: ids.length, tree: { size: ids.length } });
    }
    t.match(await verifyAudit(db, purged), { anchor, checkpoint: { ok: true, throughSeq: 4 } }, 'the old anchor and purge record are kept');
  });

  await t.test('new events continue the log without a chain; the old chain stays checked', async (t) => {
    await db.transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: whole, actor }, [{ type: 'group.member_added', targetType: 'group', targetId: randomUUID(), data: { userId: randomUUID() } }]));
    await sealPending(db, TEST_SEAL);
    const last = await db.selectFrom('audit_events').selectAll().where('workspace_id', '=', whole).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    t.same([Number(last.leaf_index), last.prev_hash, last.hash], [6, null, null]);
    t.equal((await findAuditLog(db, whole))?.treeSize, 7);
    t.match(await verifyAudit(db, whole), { ok: true, checked: 7 });

    // The leaves commit to the old hashes too: rewriting one (triggers off) is caught both ways.
    await db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await trx.updateTable('audit_events').set({ hash: 'f'.repeat(64) }).where('id', '=', wholeIds[2]!).execute();
    });
    t.match(await verifyAudit(db, whole), { ok: false, firstBroken: { id: wholeIds[2], reason: 'leaf_mismatch' } });
  });
});
