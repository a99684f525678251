import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { rootFromInclusion, verifyConsistency } from '../../src/audit/merkle.js';
import { sealPending, type SealOptions } from '../../src/audit/sealer.js';
import { generateKey, openNote, parseCheckpoint, signerFromPrivateKey, verifierFromKey } from '../../src/audit/signed-note.js';
import type { NewAuditEvent } from '../../src/audit/types.js';
import { runCli } from '../../src/cli/program.js';
import { testConfig, type Config } from '../../src/config/index.js';
import { appendAuditEvents } from '../../src/repositories/audit.repository.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { exportJsonl } from '../../src/services/audit-export.service.js';
import { ADMIN_SECRET, buildAdminTestApp, json } from '../routes/admin/helpers.js';
import { addMembers, asOwnerWithoutTriggers, createGroup, createUser, patchGroup } from './helpers.js';

// The Merkle log as auditors use it: signed checkpoints in the transparency-log
// formats, inclusion and consistency proofs over the API, verifier keys across a rotation, and
// an export verified offline with nothing but the verifier key — against a witness, it names the
// tampering of whoever owns the database: truncation, rewrite, wipe.

const key = generateKey('scim-bridge.test/audit');
const signer = signerFromPrivateKey(key.privateKey);
const auditLog: Config['auditLog'] = { origin: 'scim-bridge.test', signer, sealIntervalMs: 50 };
// This instance seals only when asked (reads seal first): its background sealer would otherwise
// race the rotated instance below to seal with the old key.
const ctx = await buildAdminTestApp(t, { auditLog: { ...auditLog, sealIntervalMs: 60_000 } });
const { db } = ctx.db;
const seal: SealOptions = { origin: auditLog.origin, signer };
const verifier = verifierFromKey(key.verifierKey);
const b64 = (s: string) => Buffer.from(s, 'base64');

const alice = await createUser(ctx, 'alice@example.com');
const bob = await createUser(ctx, 'bob@example.com');
const group = await createGroup(ctx, 'codex-local-users', [alice]);

t.test('the latest checkpoint: a C2SP signed note, JSON or text/plain, checked with the listed key', async (t) => {
  const res = await ctx.api('GET', '/audit/heads/latest', { as: 'compliance' });
  t.equal(res.statusCode, 200);
  const head = json(res);
  t.match(head, { treeSize: Number, rootHash: String, signed: true });
  const opened = openNote(head.checkpoint, verifier);
  t.ok(opened.verified, 'signed by the configured key');
  t.same(parseCheckpoint(opened.text!), { origin: `scim-bridge.test/workspaces/${ctx.workspaceId}`, size: head.treeSize, rootHash: b64(head.rootHash) });
  const events = await db.selectFrom('audit_events').select('id').where('workspace_id', '=', ctx.workspaceId).execute();
  t.equal(head.treeSize, events.length, 'every committed event is in the tree it states');

  const text = await ctx.app.inject({ method: 'GET', url: '/api/v1/audit/heads/latest', headers: { authorization: `Bearer ${ctx.tokens.owner}`, accept: 'text/plain' } });
  t.match(text.headers['content-type'], /^text\/plain/);
  t.equal(text.body, head.checkpoint, 'text/plain: the note as tlog tools store it');

  const keys = json(await ctx.api('GET', '/audit/keys', { as: 'compliance' }));
  t.same(keys.keys.map((k: { verifierKey: string; current: boolean }) => [k.verifierKey, k.current]), [[key.verifierKey, true]]);
  t.equal((await ctx.api('GET', '/audit/heads/latest', { as: 'codex-admin' })).statusCode, 403, 'auditors and owners only');
  const ready = json(await ctx.app.inject({ method: 'GET', url: '/readyz' }));
  t.same(ready.details, { auditCheckpoints: 'signed' });
});

t.test('inclusion proofs verify against the checkpoint; consistency proofs join two checkpoints', async (t) => {
  const first = json(await ctx.api('GET', '/audit/heads/latest'));
  await patchGroup(ctx, group, [addMembers([bob])]);
  const second = json(await ctx.api('GET', '/audit/heads/latest'));
  t.ok(second.treeSize > first.treeSize, `${first.treeSize} → ${second.treeSize} leaves`);

  const added = await db.selectFrom('audit_events').select('id').where('workspace_id', '=', ctx.workspaceId).where('event_type', '=', 'group.member_added').orderBy('seq').execute();
  for (const event of added) {
    const proof = json(await ctx.api('GET', `/audit/events/${event.id}/proof`, { as: 'compliance' }));
    t.equal(proof.treeSize, second.treeSize);
    const root = rootFromInclusion(proof.leafIndex, proof.treeSize, b64(proof.leafHash), proof.proof.map(b64));
    t.same(root, b64(second.rootHash), `event ${proof.leafIndex} is in the latest tree`);
  }
  const early = json(await ctx.api('GET', `/audit/events/${added[0]!.id}/proof?treeSize=${first.treeSize}`));
  t.same(rootFromInclusion(early.leafIndex, first.treeSize, b64(early.leafHash), early.proof.map(b64)), b64(first.rootHash), 'and in the earlier one');
  const late = added[added.length - 1]!.id;
  t.equal((await ctx.api('GET', `/audit/events/${late}/proof?treeSize=${first.treeSize}`)).statusCode, 400, 'not in a tree from before it');
  t.equal((await ctx.api('GET', `/audit/events/${late}/proof?treeSize=${second.treeSize + 100}`)).statusCode, 400, 'no tree that large');
  t.equal((await ctx.api('GET', `/audit/events/${randomUUID()}/proof`)).statusCode, 404);

  const consistency = json(await ctx.api('GET', `/audit/consistency?from=${first.treeSize}&to=${second.treeSize}`, { as: 'compliance' }));
  t.same([consistency.fromRootHash, consistency.toRootHash], [first.rootHash, second.rootHash]);
  t.ok(verifyConsistency(first.treeSize, second.treeSize, b64(first.rootHash), b64(second.rootHash), consistency.proof.map(b64)), 'RFC 9162 §2.1.4.2');
  t.equal((await ctx.api('GET', `/audit/consistency?from=${second.treeSize}&to=${first.treeSize}`)).statusCode, 400);
});

t.test('a key rotation keeps earlier checkpoints checkable', async (t) => {
  const before = json(await ctx.api('GET', '/audit/heads/latest'));
  const next = generateKey('scim-bridge.test/audit-2027');
  const rotated = await buildApp(testConfig({ adminJwtSecret: ADMIN_SECRET, auditLog: { ...auditLog, signer: signerFromPrivateKey(next.privateKey) } }), {
    database: { ...ctx.db, close: async () => {} },
  });
  t.teardown(() => rotated.close());
  await createUser(ctx, 'carol@example.com');
  await rotated.auditLog.seal();
  const keys = json(await rotated.inject({ method: 'GET', url: '/api/v1/audit/keys', headers: { authorization: `Bearer ${ctx.tokens.compliance}` } })).keys;
  t.same(keys.map((k: { verifierKey: string; current: boolean }) => [k.verifierKey, k.current]), [
    [next.verifierKey, true],
    [key.verifierKey, false],
  ]);
  const after = json(await rotated.inject({ method: 'GET', url: '/api/v1/audit/heads/latest', headers: { authorization: `Bearer ${ctx.tokens.compliance}` } }));
  t.ok(openNote(after.checkpoint, verifierFromKey(next.verifierKey)).verified, 'the new head, by the new key');
  t.ok(openNote(before.checkpoint, verifier).verified, 'the earlier head, by the earlier key, still listed');
  await rotated.close();
  await ctx.app.auditLog.seal(); // back to the first key for the rest of the file
});

// ---- offline verification and tampering ------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'bridge-merkle-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function cli(config: Config, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    loadConfig: () => config,
    openDb: async () => ({ ...ctx.db, close: async () => {} }),
  });
  return { code, stdout, stderr };
}

async function exportFile(workspaceId: string, options: SealOptions, name: string): Promise<string> {
  let text = '';
  for await (const chunk of exportJsonl(db, workspaceId, { seal: options })) text += chunk;
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A workspace with `n` events, all sealed. */
async function history(n: number, options: SealOptions): Promise<{ ws: string; name: string }> {
  const name = `tamper-${randomUUID()}`;
  const ws = (await ensureWorkspace(db, name)).workspace.id;
  const g = randomUUID();
  for (let i = 0; i < n; i += 5) {
    const events: NewAuditEvent[] = Array.from({ length: Math.min(5, n - i) }, () => ({ type: 'group.member_added', targetType: 'group', targetId: g, data: { userId: randomUUID() } }));
    await db.transaction().execute((trx) => appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: 'okta' } }, events));
  }
  await sealPending(db, options);
  return { ws, name };
}

const signedConfig = testConfig({ auditLog });
const unsignedConfig = testConfig({ auditLog: { ...auditLog, signer: undefined } });

t.test('an export verifies offline with only the verifier key; a witness file holds checkpoints', async (t) => {
  const { name, ws } = await history(20, seal);
  const file = await exportFile(ws, seal, 'whole.jsonl');
  const ok = await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', key.verifierKey);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^ok: 20 events, tree of 20 leaves, signature verified/);

  const witness = join(dir, 'witness.jsonl');
  const w = await cli(signedConfig, 'audit', 'witness', '--append', witness, '--workspace', name);
  t.equal(w.code, 0, w.stderr);
  t.match(JSON.parse(readFileSync(witness, 'utf8').trim()), { workspaceId: ws, treeSize: 20, checkpoint: /\n\n— scim-bridge\.test\/audit / });
  const withWitness = await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', key.verifierKey, '--witness', witness);
  t.equal(withWitness.code, 0, withWitness.stderr);
  t.match(withWitness.stdout, 'consistent with 1 witnessed heads');

  const other = generateKey('scim-bridge.test/audit');
  const wrongKey = await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', other.verifierKey);
  t.equal(wrongKey.code, 1);
  t.match(wrongKey.stderr, /not signed by scim-bridge\.test\/audit\+/);

  const lines = readFileSync(file, 'utf8').split('\n');
  lines[3] = lines[3]!.replace(/"userId":"[^"]+"/, `"userId":"${randomUUID()}"`);
  writeFileSync(join(dir, 'edited.jsonl'), lines.join('\n'));
  const edited = await cli(signedConfig, 'audit', 'verify', join(dir, 'edited.jsonl'), '--verifier-key', key.verifierKey);
  t.equal(edited.code, 1);
  t.match(edited.stderr, /line 4\): its fields do not hash to its leaf/);
  writeFileSync(join(dir, 'cut.jsonl'), lines.slice(0, 5).join('\n'));
  t.match((await cli(signedConfig, 'audit', 'verify', join(dir, 'cut.jsonl'))).stderr, /no checkpoint line: it was cut short/);
});

t.test('truncation: the newest events deleted and the log rewound to an older signed checkpoint', async (t) => {
  const { name, ws } = await history(10, seal);
  const older = await db.selectFrom('audit_logs').select(['tree_size', 'root_hash', 'checkpoint', 'checkpoint_size']).where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  const g = randomUUID();
  await db.transaction().execute((trx) =>
    appendAuditEvents(trx, { workspaceId: ws, actor: { type: 'scim', id: 'okta' } }, Array.from({ length: 7 }, () => ({ type: 'group.member_removed', targetType: 'group', targetId: g, data: { userId: randomUUID() } }))),
  );
  await sealPending(db, seal);
  const witness = join(dir, `witness-${name}.jsonl`);
  t.equal((await cli(signedConfig, 'audit', 'witness', '--append', witness, '--workspace', name)).code, 0);

  await asOwnerWithoutTriggers(db, async (trx) => {
    await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).where('leaf_index', '>=', 10).execute();
    await sql`delete from audit_tree_nodes where workspace_id = ${ws} and (index + 1) * power(2, level) > 10`.execute(trx);
    await trx.updateTable('audit_logs').set(older).where('workspace_id', '=', ws).execute();
  });
  const file = await exportFile(ws, seal, `truncated-${name}.jsonl`);
  const alone = await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', key.verifierKey);
  t.equal(alone.code, 0, 'without a witness the shorter log is self-consistent: that is why witnesses exist');
  const report = await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', key.verifierKey, '--witness', witness, '--json');
  t.equal(report.code, 1);
  t.match(JSON.parse(report.stdout), { ok: false, tamper: 'truncated', problems: ['truncated: the log has 10 leaves, but a head of 17 was witnessed'] });
});

t.test('rewrite: one event edited, every later leaf and the head recomputed', async (t) => {
  for (const [label, config, options] of [
    ['unsigned', unsignedConfig, { origin: auditLog.origin }],
    ['signed', signedConfig, seal],
  ] as const) {
    const { name, ws } = await history(12, options);
    const witness = join(dir, `witness-${name}.jsonl`);
    t.equal((await cli(config, 'audit', 'witness', '--append', witness, '--workspace', name)).code, 0);
    const victim = await db.selectFrom('audit_events').select('id').where('workspace_id', '=', ws).where('leaf_index', '=', 4).executeTakeFirstOrThrow();
    // As the owner: edit the event, throw the tree away and let the sealer rebuild it from the edited history.
    await asOwnerWithoutTriggers(db, async (trx) => {
      await trx.updateTable('audit_events').set({ data: JSON.stringify({ userId: 'mallory' }) }).where('id', '=', victim.id).execute();
      await trx.updateTable('audit_events').set({ leaf_index: null }).where('workspace_id', '=', ws).execute();
      await trx.deleteFrom('audit_tree_nodes').where('workspace_id', '=', ws).execute();
      await trx.deleteFrom('audit_logs').where('workspace_id', '=', ws).execute();
    });
    // Rebuilt by a sealer: the attacker's own (unsigned), or the running service's, which signs
    // whatever history it finds. Either way the file is consistent with itself and, signed, even
    // verifies with the key alone: only a checkpoint kept elsewhere shows the rewrite.
    await sealPending(db, options);
    const file = await exportFile(ws, options, `rewritten-${name}.jsonl`);
    const keyArgs = label === 'signed' ? ['--verifier-key', key.verifierKey] : [];
    t.equal((await cli(config, 'audit', 'verify', file, ...keyArgs)).code, 0, `${label}: the rebuilt file is consistent with itself`);
    const report = JSON.parse((await cli(config, 'audit', 'verify', file, ...keyArgs, '--witness', witness, '--json')).stdout);
    t.match(report, { ok: false, tamper: 'rewritten', problems: ['rewritten: the first 12 leaves no longer hash to the root witnessed for them'] }, `${label}: the witness sees it`);
  }
});

t.test("wipe: a workspace's whole log removed", async (t) => {
  const { name, ws } = await history(8, seal);
  const witness = join(dir, `witness-${name}.jsonl`);
  t.equal((await cli(signedConfig, 'audit', 'witness', '--append', witness, '--workspace', name)).code, 0);
  await asOwnerWithoutTriggers(db, async (trx) => {
    await trx.deleteFrom('audit_events').where('workspace_id', '=', ws).execute();
    await trx.deleteFrom('audit_tree_nodes').where('workspace_id', '=', ws).execute();
    await trx.deleteFrom('audit_logs').where('workspace_id', '=', ws).execute();
  });
  const file = await exportFile(ws, seal, `wiped-${name}.jsonl`);
  const report = JSON.parse((await cli(signedConfig, 'audit', 'verify', file, '--verifier-key', key.verifierKey, '--witness', witness, '--json')).stdout);
  t.match(report, { ok: false, events: 0, treeSize: 0, tamper: 'wiped', problems: ['wiped: the log is empty, but a head of 8 leaves was witnessed'] });
});

t.test('keygen writes a private key the service accepts and prints the verifier key', async (t) => {
  const out = join(dir, 'audit.key');
  const res = await cli(signedConfig, 'audit', 'keygen', '--name', 'bridge.example/audit', '--out', out);
  t.equal(res.code, 0, res.stderr);
  const printed = res.stdout.trim();
  t.equal(signerFromPrivateKey(readFileSync(out, 'utf8')).verifierKey, printed);
  t.notMatch(res.stdout + res.stderr, /PRIVATE/, 'the private key is never printed');
  t.equal((await cli(signedConfig, 'audit', 'keygen', '--name', 'bridge.example/audit', '--out', out)).code, 1, 'never overwritten');
  t.equal(testConfig().auditLog.signer, undefined);
  const { loadConfig } = await import('../../src/config/index.js');
  t.equal(loadConfig({ AUDIT_SIGNING_KEY_FILE: out }).auditLog.signer?.verifierKey, printed);
  writeFileSync(join(dir, 'bad.key'), 'not a key');
  t.throws(() => loadConfig({ AUDIT_SIGNING_KEY_FILE: join(dir, 'bad.key') }), /AUDIT_SIGNING_KEY_FILE must hold a signed-note Ed25519 private key/);
});
