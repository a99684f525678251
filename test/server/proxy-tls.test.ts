import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { buildTestApp } from '../helpers/app.js';

// @dialect-independent: HTTP framing, not storage.
// Behind a reverse proxy (TRUST_PROXY) and serving HTTPS itself (TLS_CERT_FILE/TLS_KEY_FILE).

const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'proxy@example.com' };
const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'scim.example.com', 'x-forwarded-for': '203.0.113.9' };

t.test('TRUST_PROXY: off, a hop count, or proxy addresses; anything else names the variable', async (t) => {
  t.equal(loadConfig({}).trustProxy, false, 'off by default');
  t.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/2']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), new ConfigError(`TRUST_PROXY must be a hop count or a comma-separated list of proxy addresses or CIDR ranges, got ${JSON.stringify(bad)}`), bad);
  }
});

t.test('meta.location follows X-Forwarded-Proto/Host only from a trusted proxy', async (t) => {
  const cases: Array<[string, ReturnType<typeof loadConfig>['trustProxy'], string]> = [
    ['untrusted by default', false, 'http://localhost:80/scim/v2/Users/'],
    ['one trusted hop', 1, 'https://scim.example.com/scim/v2/Users/'],
    ['the peer is a listed proxy', ['127.0.0.0/8'], 'https://scim.example.com/scim/v2/Users/'],
    ['the peer is not a listed proxy', ['10.0.0.1'], 'http://localhost:80/scim/v2/Users/'],
  ];
  for (const [name, trustProxy, prefix] of cases) {
    const { scim } = await buildTestApp(t, { trustProxy });
    const res = await scim('POST', '/Users', { ...user, userName: `${name.replace(/ /g, '-')}@example.com` }, forwarded);
    t.equal(res.statusCode, 201, name);
    const location = res.json().meta.location as string;
    t.ok(location.startsWith(prefix), `${name}: ${location}`);
    t.equal(res.headers.location, location, `${name}: the Location header agrees`);
  }
});

t.test('TLS_CERT_FILE/TLS_KEY_FILE serve HTTPS; a missing or mismatched file names the variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const otherKey = join(dir, 'other-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey], { stdio: 'ignore' });

  t.throws(() => loadConfig({ TLS_CERT_FILE: cert }), /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
  t.throws(() => loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: join(dir, 'missing.pem') }), /^TLS_KEY_FILE cannot be read: ENOENT/);
  t.throws(() => loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: otherKey }), /not a matching PEM certificate and key/);
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate');
  t.throws(() => loadConfig({ TLS_CERT_FILE: join(dir, 'garbage.pem'), TLS_KEY_FILE: key }), /not a matching PEM certificate and key/);
  const config = loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
  t.notMatch(JSON.stringify(config), /PRIVATE KEY/, 'the key never prints with the config');

  const { app, scimToken } = await buildTestApp(t, { tls: config.tls });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const body = JSON.stringify(user);
  const res = await new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/scim/v2/Users', method: 'POST', ca: config.tls!.cert, servername: 'localhost', headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.equal(res.status, 201, 'a SCIM request over TLS, verified against the certificate');
  t.match(res.json.meta.location, new RegExp(`^https://127\\.0\\.0\\.1:${port}/scim/v2/Users/`), 'meta.location says https');
});
