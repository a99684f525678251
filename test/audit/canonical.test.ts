// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { canonicalJson, chainHash, eventHasher, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { newAuditEventId } from '../../src/audit/ids.js';
import { canonicalAuditData, isSecretKey, REDACTED, sanitizeAuditData } from '../../src/audit/redact.js';
import {
  complementRanges,
  consistencyRanges,
  EMPTY_ROOT,
  inclusionRanges,
  leafHash,
  rangeHashFrom,
  rootFromInclusion,
  verifyConsistency,
  type Hash,
} from '../../src/audit/merkle.js';
import { edgeNodeRefs } from '../../src/audit/sealer.js';
import { checkpointText, generateKey, keyId, openNote, parseCheckpoint, signerFromPrivateKey, signNote, verifierFromKey } from '../../src/audit/signed-note.js';

// Pure checks of the pieces the audit log depends on — canonical JSON, the old chain's hashing,
// the Merkle tree and its proofs, signed notes; the database round trip is in audit.test.ts.

// 'binary' strings include NUL and lone surrogates, which PostgreSQL cannot store as such.
const jsonObject = fc.dictionary(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('10', '2', '__proto__', 'password')), fc.jsonValue({ stringUnit: 'binary' }), {
  maxKeys: 8,
});

t.test('the fast canonical writer equals canonicalJson of the sanitised value', async (t) => {
  fc.assert(
    fc.property(jsonObject, (data) => {
      const fast = canonicalAuditData(data);
      const slow = canonicalJson(sanitizeAuditData(data));
      return fast === slow;
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

t.test('canonical data is a fixed point of a JSON round trip (what jsonb hands back)', async (t) => {
  fc.assert(
    fc.property(jsonObject, (data) => {
      const text = canonicalAuditData(data);
      return canonicalJson(JSON.parse(text)) === text;
    }),
    { numRuns: 2_000 },
  );
  t.equal(canonicalAuditData({ '10': 1, '9': 2, b: 1, a: { d: 1, c: 2 } }), '{"10":1,"9":2,"a":{"c":2,"d":1},"b":1}');
});

t.test('the per-call hasher equals sha256(prev + canonicalJson(document))', async (t) => {
  fc.assert(
    fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: null }), fc.string({ minLength: 1 }), jsonObject, (actorId, display, requestId, targetId, data) => {
      const shared = { workspaceId: newAuditEventId(), occurredAt: new Date(1_700_000_000_123), actor: { type: 'admin' as const, id: actorId, display }, requestId };
      const event = { id: newAuditEventId(), seq: 42, type: 'role.updated', targetType: 'role', targetId, causeId: null };
      const canonicalData = canonicalAuditData(data);
      const doc = {
        v: 1,
        ...event,
        workspaceId: shared.workspaceId,
        occurredAt: '2023-11-14T22:13:20.123Z',
        actor: { type: 'admin', id: actorId, display: display ?? null },
        requestId,
        data: JSON.parse(canonicalData) as unknown,
      };
      const expected = createHash('sha256').update(GENESIS_HASH + canonicalJson(doc)).digest('hex');
      return eventHasher(shared)(GENESIS_HASH, event, canonicalData) === expected && chainHash(GENESIS_HASH, { ...shared, ...event }, canonicalData) === expected;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

t.test('secret-looking keys', async (t) => {
  for (const k of ['password', 'newPassword', 'client_secret', 'accessToken', 'token_hash', 'Authorization', 'apiKey', 'x-api-key', 'urn:ietf:params:scim:schemas:core:2.0:User:password', 'private_key', 'credentials']) {
    t.ok(isSecretKey(k), k);
  }
  for (const k of ['tokenId', 'userId', 'userName', 'displayName', 'scope', 'tokenCount', 'description', 'passwordChanged']) {
    t.notOk(isSecretKey(k), k);
  }
  t.same(sanitizeAuditData({ password: null, token: false, secret: 0 }), { password: null, token: false, secret: REDACTED }, 'null and booleans say nothing secret');
  t.same(sanitizeAuditData({ attribute: 'password', value: 'p' }), { attribute: 'password', value: REDACTED });
  t.same(sanitizeAuditData({ name: 'access_tokens', value: 'allow' }), { name: 'access_tokens', value: 'allow' }, 'a permission, not a secret');
  t.same(
    sanitizeAuditData({ changed: ['permissions'], before: { permissions: { access_tokens: 'deny' } }, after: { permissions: { access_tokens: 'allow' } } }),
    { changed: ['permissions'], before: { permissions: { access_tokens: 'deny' } }, after: { permissions: { access_tokens: 'allow' } } },
    'role permission maps keep their keys',
  );
  t.throws(() => {
    const a: Record<string, unknown> = {};
    a.self = a;
    sanitizeAuditData(a);
  }, /nested too deeply/);
});

t.test('event ids are time-ordered UUIDv7', async (t) => {
  const a = newAuditEventId();
  t.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const ids = Array.from({ length: 10_000 }, () => newAuditEventId());
  t.equal(new Set(ids).size, ids.length);
  t.ok(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16) <= Date.now());
});

// ---- the Merkle tree, its proofs, signed notes -------------------------------------------------

// Known answers from outside this code base: the RFC 6962/9162 test tree of the Certificate
// Transparency projects (eight leaves, the root of every prefix, a consistency proof), and the
// signed-note key and note of Go's golang.org/x/mod/sumdb/note tests.

const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const leavesOf = (hashes: readonly Hash[]) => new Map(hashes.map((h, i) => [i, h]));
const none = new Map<string, Hash>();
function tree(n: number) {
  const leaves = Array.from({ length: n }, (_, i) => leafHash(`entry ${i}`));
  const held = leavesOf(leaves);
  return { leaves, mth: (lo: number, hi: number) => rangeHashFrom(lo, hi, held, none)! };
}

t.test('RFC 9162 hashing: the CT test tree, every prefix', async (t) => {
  const leaves = leavesOf(CT_LEAVES.map((hex) => leafHash(Buffer.from(hex, 'hex'))));
  CT_ROOTS.forEach((root, i) => t.equal(rangeHashFrom(0, i + 1, leaves, none)!.toString('hex'), root, `MTH of ${i + 1} leaves`));
  t.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'the empty tree is SHA-256 of nothing');
  const mth = (lo: number, hi: number) => rangeHashFrom(lo, hi, leaves, none)!;
  const proof = consistencyRanges(2, 5).map(([lo, hi]) => mth(lo, hi));
  t.same(proof.map((h) => h.toString('hex')), ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']);
  t.ok(verifyConsistency(2, 5, Buffer.from(CT_ROOTS[1]!, 'hex'), Buffer.from(CT_ROOTS[4]!, 'hex'), proof));
});

t.test('inclusion and consistency proofs verify for every leaf and size up to 70, and nothing else does', async (t) => {
  const { leaves, mth } = tree(70);
  let checked = 0;
  for (let n = 1; n <= 70; n++) {
    for (let m = 0; m < n; m++) {
      const proof = inclusionRanges(m, n).map(([lo, hi]) => mth(lo, hi));
      if (!rootFromInclusion(m, n, leaves[m]!, proof)?.equals(mth(0, n))) t.fail(`inclusion ${m} in ${n}`);
      if (rootFromInclusion(m, n, leaves[(m + 1) % n]!, proof)?.equals(mth(0, n)) && n > 1) t.fail(`another leaf proves ${m} in ${n}`);
      checked++;
    }
    for (let m = 1; m <= n; m++) {
      const proof = consistencyRanges(m, n).map(([lo, hi]) => mth(lo, hi));
      if (!verifyConsistency(m, n, mth(0, m), mth(0, n), proof)) t.fail(`consistency ${m} → ${n}`);
      if (m < n && verifyConsistency(m, n, leafHash('forged'), mth(0, n), proof)) t.fail(`a forged old root passes ${m} → ${n}`);
      checked++;
    }
  }
  t.equal(checked, 70 * 71, 'every case ran');
});

t.test('a proof with one hash flipped never verifies (property)', async (t) => {
  const { leaves, mth } = tree(300);
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 300 }), fc.nat(), fc.nat(), (n, a, flip) => {
      const m = a % n;
      const proof = inclusionRanges(m, n).map(([lo, hi]) => mth(lo, hi));
      if (proof.length === 0) return true;
      const bad = proof.map((h, i) => (i === flip % proof.length ? leafHash(h) : h));
      return rootFromInclusion(m, n, leaves[m]!, bad)?.equals(mth(0, n)) !== true;
    }),
    { seed: 911, numRuns: 500 },
  );
  t.pass('500 random flips refused');
});

t.test('an export holding any subset of leaves plus its complement gives the root (property)', async (t) => {
  const { leaves, mth } = tree(200);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.uniqueArray(fc.nat({ max: 199 })), (n, picks) => {
      const held = picks.filter((i) => i < n).sort((a, b) => a - b);
      const ranges = new Map(complementRanges(n, held).map(([lo, hi]) => [`${lo}-${hi}`, mth(lo, hi)] as const));
      const root = rangeHashFrom(0, n, new Map(held.map((i) => [i, leaves[i]!])), ranges);
      return root !== undefined && root.equals(mth(0, n));
    }),
    { seed: 2026, numRuns: 400 },
  );
  const contiguous = complementRanges(1_000_000, Array.from({ length: 1000 }, (_, i) => 500_000 + i));
  t.ok(contiguous.length <= 2 * 20, `a contiguous run of 1,000 in a million leaves needs ${contiguous.length} hashes`);
});

t.test("the sealer's right edge: one complete subtree per bit of the size", async (t) => {
  t.same(edgeNodeRefs(0), []);
  t.same(edgeNodeRefs(6), [[2, 0], [1, 2]]);
  t.same(edgeNodeRefs(7), [[2, 0], [1, 2], [0, 6]]);
  t.same(edgeNodeRefs(8), [[3, 0]]);
});

t.test('signed notes: the Go sumdb/note known answer', async (t) => {
  const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const signed = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
  const signer = signerFromPrivateKey(skey);
  t.equal(signer.verifierKey, vkey, 'the verifier key derived from the private key');
  t.equal(signNote(text, signer), signed, 'byte for byte the note Go signs');
  t.same(openNote(signed, verifierFromKey(vkey)), { text, verified: true, keyName: 'PeterNeumann' });
  t.match(openNote(signed.replace('problem is', 'problem was'), verifierFromKey(vkey)), { verified: false, reason: 'the signature does not verify' });
  const other = generateKey('PeterNeumann');
  t.match(openNote(signed, verifierFromKey(other.verifierKey)), { verified: false, reason: /not signed by/ }, 'same name, other key: ignored, so unverified');
  t.throws(() => verifierFromKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), /key id does not match/);
  t.throws(() => signerFromPrivateKey(vkey), /PRIVATE\+KEY/);
  t.throws(() => generateKey('has space'), /without spaces/);
});

t.test('checkpoints: C2SP tlog-checkpoint text, signed with a generated key', async (t) => {
  const key = generateKey('scim-bridge.example/audit');
  t.match(key.privateKey, /^PRIVATE\+KEY\+scim-bridge\.example\/audit\+[0-9a-f]{8}\+A/);
  const signer = signerFromPrivateKey(key.privateKey);
  t.equal(signer.verifierKey, key.verifierKey);
  t.equal(signer.keyId, keyId('scim-bridge.example/audit', Buffer.from(key.verifierKey.split('+').slice(2).join('+'), 'base64').subarray(1)));
  const text = checkpointText({ origin: 'codex-scim-bridge/workspaces/w1', size: 8, rootHash: Buffer.from(CT_ROOTS[7]!, 'hex') });
  t.equal(text, 'codex-scim-bridge/workspaces/w1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n');
  const note = signNote(text, signer);
  const opened = openNote(note, verifierFromKey(key.verifierKey));
  t.ok(opened.verified);
  t.same(parseCheckpoint(opened.text!), { origin: 'codex-scim-bridge/workspaces/w1', size: 8, rootHash: Buffer.from(CT_ROOTS[7]!, 'hex') });
  t.equal(parseCheckpoint('origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n'), undefined, 'no leading zeros in the size');
});
