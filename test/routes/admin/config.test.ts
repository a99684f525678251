// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { loadConfig, Secret } from '../../../src/config/index.js';
import { createDb } from '../../../src/db/index.js';

// Settings validated at start-up, each error naming its variable; the signing key never printable.

t.test('ADMIN_JWT_SECRET', async (t) => {
  t.equal(loadConfig({}).adminJwtSecret, undefined, 'unset: bridge-signed admin tokens are off');
  t.throws(() => loadConfig({ ADMIN_JWT_SECRET: 'short' }), { message: /ADMIN_JWT_SECRET must be at least 32 characters/ });
  const secret = 'x'.repeat(20) + 'the-actual-secret-value';
  const config = loadConfig({ ADMIN_JWT_SECRET: secret });
  t.equal(config.adminJwtSecret?.reveal(), secret);
  for (const printed of [JSON.stringify(config), inspect(config, { depth: 5 }), String(config.adminJwtSecret), `${new Secret(secret)}`]) {
    t.notMatch(printed, secret, 'never printed');
  }
});

t.test('OIDC_*', async (t) => {
  t.equal(loadConfig({}).oidc, undefined, 'unset: IdP tokens are off');
  const base = { OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'bridge', OIDC_JWKS_URL: 'https://idp.example.com/keys' };
  t.match(loadConfig(base).oidc, {
    issuer: 'https://idp.example.com',
    audiences: ['bridge'],
    workspace: 'default',
    subjectClaim: 'sub',
    emailClaim: 'email',
    ownerGroups: [],
    codexAdminGroups: ['codex-admins'],
    complianceGroups: [],
  });
  t.same(loadConfig({ ...base, OIDC_AUDIENCE: 'api://bridge, 0oa-codex-cli' }).oidc?.audiences, ['api://bridge', '0oa-codex-cli'], 'several audiences: access and ID tokens');
  t.match(loadConfig({ ...base, OIDC_OWNER_GROUPS: ' owners , it-admins ,', OIDC_SUBJECT_CLAIM: 'oid' }).oidc, { ownerGroups: ['owners', 'it-admins'], subjectClaim: 'oid' });
  t.throws(() => loadConfig({ OIDC_ISSUER: 'https://idp.example.com' }), { message: /OIDC_AUDIENCE and OIDC_JWKS_URL must be set together/ });
  t.throws(() => loadConfig({ ...base, OIDC_JWKS_URL: 'http://idp.example.com/keys' }), { message: /https/ });
  t.throws(() => loadConfig({ ...base, OIDC_JWKS_URL: 'not a url' }), { message: /OIDC_JWKS_URL is not a valid URL/ });
  t.ok(loadConfig({ ...base, OIDC_JWKS_URL: 'http://127.0.0.1:8081/keys' }).oidc, 'http on loopback, for tests');
});

t.test('HOST: an IP address or a host name, else an error naming it before anything starts', async (t) => {
  for (const good of ['127.0.0.1', '0.0.0.0', '::', '[::1]', 'localhost', 'scim-bridge.internal']) t.doesNotThrow(() => loadConfig({ HOST: good }), good);
  t.equal(loadConfig({ HOST: '[::1]' }).host, '::1', 'brackets are dropped');
  for (const bad of ['999.999.999.999', 'exa mple', '-bad.example', 'host:8080']) {
    t.throws(() => loadConfig({ HOST: bad }), { message: `HOST must be an IP address or a host name to listen on (0.0.0.0 for every interface), got ${JSON.stringify(bad)}` }, bad);
  }
});

t.test('DATA_DIR on a kernel file system or where no directory can be made is refused, naming it', async (t) => {
  for (const dir of ['/proc', '/proc/bridge', '/sys/bridge', '/dev/null/x']) {
    await t.rejects(createDb({ dataDir: dir }), { name: 'Error', message: new RegExp(`^DATA_DIR "${dir}" is on a kernel file system`) }, dir);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'bridge-datadir-')), 'a-file');
  writeFileSync(file, '');
  await t.rejects(createDb({ dataDir: join(file, 'data') }), { message: /^DATA_DIR ".*a-file\/data" cannot be used as the embedded database's directory: ENOTDIR$/ });
});

t.test('OAUTH_SIGNING_KEY_FILE: a P-256, RSA or Ed25519 private key, else an error naming it', async (t) => {
  t.equal(loadConfig({}).oauth, undefined, 'unset: no /oauth/token');
  const dir = mkdtempSync(join(tmpdir(), 'bridge-oauth-key-'));
  const write = (name: string, pem: string) => (writeFileSync(join(dir, name), pem), join(dir, name));
  const p256 = write('p256.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const p384 = write('p384.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const config = loadConfig({ OAUTH_SIGNING_KEY_FILE: p256, OAUTH_TOKEN_TTL_SECONDS: '900' });
  t.match(config.oauth, { alg: 'ES256', tokenTtlSeconds: 900, rateLimitPerMinute: 60 });
  t.notMatch(JSON.stringify(config), /PRIVATE KEY/, 'the key never prints');
  const ed25519 = write('ed25519.pem', generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  t.equal(loadConfig({ OAUTH_SIGNING_KEY_FILE: ed25519 }).oauth?.alg, 'EdDSA', 'the key type picks the algorithm');
  t.throws(() => loadConfig({ OAUTH_SIGNING_KEY_FILE: p384 }), { message: /^OAUTH_SIGNING_KEY_FILE must hold a PEM private key, EC P-256, RSA or Ed25519: a ec secp384r1 key/ });
  t.throws(() => loadConfig({ OAUTH_SIGNING_KEY_FILE: write('junk.pem', 'junk') }), { message: /^OAUTH_SIGNING_KEY_FILE must hold a PEM private key/ });
  t.throws(() => loadConfig({ OAUTH_SIGNING_KEY_FILE: join(dir, 'missing.pem') }), { message: /^OAUTH_SIGNING_KEY_FILE cannot be read: ENOENT/ });
  t.throws(() => loadConfig({ OAUTH_SIGNING_KEY_FILE: p256, OAUTH_TOKEN_TTL_SECONDS: '5' }), { message: /^OAUTH_TOKEN_TTL_SECONDS must be an integer from 60 to 86400/ });
});
