import crypto from 'node:crypto';

// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519, and the key encodings of Go's
// golang.org/x/mod/sumdb/note, which the checksum database, Sigstore and the transparency-dev
// witnesses use: a verifier key is `name+keyid+base64(0x01 ‖ public key)`, a private key file
// holds `PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`. Checkpoints (c2sp.org/tlog-checkpoint)
// built here therefore verify with those tools as they are.

const ED25519 = 0x01;
// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), which node:crypto needs to import it.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteKeyError extends Error {
  override name = 'NoteKeyError';
}

export interface NoteSigner {
  name: string;
  keyId: number;
  /** The matching verifier key, to publish. */
  verifierKey: string;
  sign(text: string): Buffer;
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  verify(text: string, signature: Buffer): boolean;
}

function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new NoteKeyError('a key name must be non-empty, without spaces or "+"');
}

export function keyId(name: string, publicKey: Buffer): number {
  return crypto.createHash('sha256').update(name).update('\n').update(Buffer.from([ED25519])).update(publicKey).digest().readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, '0');

function verifierKeyOf(name: string, publicKey: Buffer): string {
  return `${name}+${hex8(keyId(name, publicKey))}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
}

/** Splits `name+keyid+base64` and checks the key id against the key. */
function parseKey(text: string, what: string): { name: string; id: number; key: Buffer } {
  // The base64 part may itself contain "+": only the first two separate fields.
  const [name, idHex, ...rest] = text.trim().split('+');
  const data = rest.join('+');
  if (name === undefined || idHex === undefined || rest.length === 0) throw new NoteKeyError(`${what} must look like name+keyid+base64`);
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteKeyError(`${what}: the key id must be 8 lower-case hex digits`);
  const raw = Buffer.from(data, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519 || raw.toString('base64') !== data) throw new NoteKeyError(`${what}: only Ed25519 keys (type 0x01, 32 bytes) are supported`);
  return { name, id: parseInt(idHex, 16), key: raw.subarray(1) };
}

export function signerFromPrivateKey(text: string): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith('PRIVATE+KEY+')) throw new NoteKeyError('a signed-note private key starts with PRIVATE+KEY+');
  const { name, id, key: seed } = parseKey(trimmed.slice('PRIVATE+KEY+'.length), 'the private key');
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  if (keyId(name, publicKey) !== id) throw new NoteKeyError('the private key file is damaged: its key id does not match its key');
  return { name, keyId: id, verifierKey: verifierKeyOf(name, publicKey), sign: (note) => crypto.sign(null, Buffer.from(note), privateKey) };
}

export function verifierFromKey(text: string): NoteVerifier {
  const { name, id, key } = parseKey(text, 'the verifier key');
  if (keyId(name, key) !== id) throw new NoteKeyError('the verifier key is damaged: its key id does not match its key');
  const publicKey = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: 'der', type: 'spki' });
  return { name, keyId: id, verify: (note, signature) => signature.length === 64 && crypto.verify(null, Buffer.from(note), publicKey, signature) };
}

/** A new key pair: the private key file's content and the verifier key to publish. */
export function generateKey(name: string): { privateKey: string; verifierKey: string } {
  checkName(name);
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const publicKey = Buffer.from(privateKey.export({ format: 'jwk' }).x!, 'base64url');
  const id = hex8(keyId(name, publicKey));
  return {
    privateKey: `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([ED25519]), seed]).toString('base64')}`,
    verifierKey: verifierKeyOf(name, publicKey),
  };
}

/** The note text followed by a blank line and the signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new Error('a note text ends with a newline');
  const id = Buffer.alloc(4);
  id.writeUInt32BE(signer.keyId);
  return `${text}\n— ${signer.name} ${Buffer.concat([id, signer.sign(text)]).toString('base64')}\n`;
}

/** Whether a note carries signature lines (it may still fail to verify: see openNote). */
export function hasSignatures(note: string): boolean {
  return note.includes('\n\n— ');
}

export type OpenedNote = { text: string; verified: true; keyName: string } | { text: string | undefined; verified: false; reason: string };

/**
 * Splits a signed note and checks it against one verifier: the signature line with the
 * verifier's name and key id must verify (signatures of other keys are ignored, as the
 * specification says).
 */
export function openNote(note: string, verifier: NoteVerifier): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return { text: undefined, verified: false, reason: 'not a signed note (no blank line before the signatures)' };
  const text = note.slice(0, split + 1);
  let sawKey = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const match = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) return { text, verified: false, reason: `malformed signature line ${JSON.stringify(line)}` };
    const blob = Buffer.from(match[2]!, 'base64');
    if (match[1] !== verifier.name || blob.length < 4 || blob.readUInt32BE(0) !== verifier.keyId) continue;
    sawKey = true;
    if (verifier.verify(text, blob.subarray(4))) return { text, verified: true, keyName: verifier.name };
  }
  return { text, verified: false, reason: sawKey ? 'the signature does not verify' : `not signed by ${verifier.name}+${hex8(verifier.keyId)}` };
}

// ---- tlog-checkpoint (https://c2sp.org/tlog-checkpoint) -----------------------------------------

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.rootHash.toString('base64')}\n`;
}

export function parseCheckpoint(text: string): Checkpoint | undefined {
  const [origin, size, root] = text.split('\n');
  if (!origin || !size || !/^(0|[1-9][0-9]*)$/.test(size) || root === undefined) return undefined;
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) return undefined;
  return { origin, size: Number(size), rootHash };
}
