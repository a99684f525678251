// @dialect-independent: the browser over the admin API, whose reads and writes the route tests run on both databases.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import t, { type Test } from 'tap';

type Tap = Test;
import { fromRoot } from '../helpers/paths.js';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';

// The console end to end in a real headless Chromium (Debian's chromium, driven by
// puppeteer-core): sign in with a token, find a user, see their permissions with reasons and
// their access timeline, open a group and see its chart drawn, preview an edit and cancel it;
// compliance sees no edit controls; axe-core finds no serious or critical violation on the pages.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CONSOLE_CLIENT = '0oa-codex-console';
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

if (!CHROMIUM) {
  // CI installs Debian's chromium (.ci/run); elsewhere the browser tests say why they did not run.
  if (process.env.CI) t.fail('no Chromium: install Debian\'s chromium package or set CHROMIUM_PATH');
  else t.skip('no Chromium here: apt-get install chromium (or set CHROMIUM_PATH) to run the console tests', () => {});
} else {
  t.test('the console in Chromium', (t) => consoleTests(t, CHROMIUM));
}

async function consoleTests(t: Tap, executablePath: string): Promise<void> {
  const ctx = await buildAdminTestApp(t, { consoleDir: fromRoot('dist/console') });
  const { api, scim } = ctx;
  const user = async (userName: string, displayName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName, displayName, emails: [{ value: userName, primary: true }] })).id as string;
  const ada = await user('ada@example.com', 'Ada Lovelace');
  const grace = await user('grace@example.com', 'Grace Hopper');
  const cloud = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-cloud-users', members: [{ value: ada }, { value: grace }] })).id as string;
  await scim('PATCH', `/Groups/${cloud}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${grace}"]` }] });
  t.equal((await api('POST', '/policies', { body: { name: 'Strict', toml: 'allowed_sandbox_modes = ["read-only"]\n' } })).statusCode, 201);

  const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const browser: Browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  const scriptErrors: string[] = [];
  const axeSource = readFileSync(fromRoot('node_modules/axe-core/axe.min.js'), 'utf8');

  /** A new tab (its own sessionStorage), signed in with the role's token (or the one given). */
  async function signedIn(role: 'owner' | 'compliance', token = ctx.tokens[role]): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.setBypassCSP(true); // so axe-core can be injected; the page's own CSP is tested below
    page.on('pageerror', (error) => scriptErrors.push(`${role}: ${String(error)}`));
    await page.goto(`${base}/console/`);
    await page.locator('::-p-aria(Admin token)').fill(token);
    await page.locator('::-p-aria(Sign in)').click();
    await page.waitForSelector('header nav');
    return page;
  }

  const text = (page: Page, selector: string) => page.$eval(selector, (el) => (el as HTMLElement).innerText);
  async function axe(page: Page, name: string): Promise<void> {
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    t.same(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), [], `axe-core: no serious or critical violations on ${name}`);
  }

  t.test('the service serves the console with a strict policy and everything local', async (t) => {
    const res = await fetch(`${base}/console`, { redirect: 'manual' });
    t.equal(res.status, 302);
    const page = await fetch(`${base}/console/`);
    t.equal(page.status, 200);
    t.match(page.headers.get('content-security-policy'), /default-src 'self'; script-src 'self'/);
    const html = await page.text();
    t.notMatch(html, /https?:\/\//, 'no asset from elsewhere');
    t.equal((await fetch(`${base}/console/vendor/uplot.js`)).status, 200, 'the chart library is served by the service');
  });

  t.test('sign in, find a user, see why, and their timeline', async (t) => {
    const page = await signedIn('owner');
    await axe(page, 'the users page');
    await page.locator('::-p-aria(Search users by name, userName or email)').fill('grace');
    await page.keyboard.press('Enter');
    await page.waitForSelector('caption::-p-text(Users matching "grace")');
    await page.locator('a::-p-text(grace@example.com)').click();
    await page.waitForSelector('#timeline-title');
    t.match(await text(page, 'h1'), 'Grace Hopper (grace@example.com)');
    const permissions = await text(page, 'section[aria-labelledby="perm-title"]');
    t.match(permissions, /codex_cloud\s+no\s+none of the user's roles allows or denies it/, 'codex_cloud not granted, with the reason');
    const timeline = await text(page, 'ol.timeline');
    t.match(timeline, /lost code_review, codex_cloud — removed from group codex-cloud-users/, 'why she lost codex_cloud');
    t.match(timeline, /gained code_review, codex_cloud — added to group codex-cloud-users/);
    await axe(page, "a user's page");

    await page.goto(`${base}/console/#/users/${ada}`);
    await page.waitForSelector('#perm-title');
    t.match(await text(page, 'section[aria-labelledby="perm-title"]'), /codex_cloud\s+yes\s+allowed by role "Codex Cloud" \(via group "codex-cloud-users"/);
    await page.locator('a::-p-text(codex-cloud-users)').click();
    await page.waitForSelector('#members-title');
    t.match(await text(page, 'section[aria-labelledby="roles-title"]'), /Codex Cloud \(mapped by displayName "codex-cloud-users"\)/);
    await page.waitForSelector('figure.chart canvas');
    const drawn = await page.$eval('figure.chart canvas', (c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
    t.ok(drawn.width > 100 && drawn.height > 50, `the members chart is drawn (${drawn.width}×${drawn.height})`);
    t.match(await text(page, 'section[aria-labelledby="members-title"]'), /ada@example.com/);
    await axe(page, "a group's page");
  });

  t.test('an edit shows its preview first, and cancelling changes nothing', async (t) => {
    const page = await signedIn('owner');
    await page.goto(`${base}/console/#/roles`);
    await page.waitForSelector('#role-editor-title');
    await axe(page, 'roles and mappings');
    const roles = json(await api('GET', '/roles')).items as Array<{ id: string; name: string; permissions: Record<string, string> }>;
    const codexCloud = roles.find((r) => r.name === 'Codex Cloud')!;
    await page.select('#edit-role', codexCloud.id);
    await page.select('#edit-permission', 'agent_internet');
    await page.select('#edit-effect', 'allow');
    await page.locator('::-p-aria(Preview change…)').click();
    await page.waitForSelector('dialog[open]');
    const preview = await text(page, 'dialog[open]');
    t.match(preview, /1 user\(s\) change permissions/, 'the preview counts who is affected');
    t.match(preview, /ada@example\.com\s+agent_internet/, 'and names them with what they gain');
    await page.locator('::-p-aria(Cancel)').click();
    t.same((json(await api('GET', `/roles/${codexCloud.id}`)) as { permissions: Record<string, string> }).permissions, codexCloud.permissions, 'nothing changed');
    await page.goto(`${base}/console/#/policies`);
    await page.waitForSelector('textarea');
    await axe(page, 'policies');
  });

  t.test('compliance reads and sees no edit controls', async (t) => {
    const page = await signedIn('compliance');
    for (const route of ['roles', 'policies']) {
      await page.goto(`${base}/console/#/${route}`);
      await page.waitForSelector('main h1');
      await page.waitForFunction(() => !document.querySelector('main .loading'));
      t.equal(await page.$$eval('main form.editor, main textarea, dialog', (els) => els.length), 0, `no editor on ${route}`);
      t.notMatch(await text(page, 'main'), /Preview|Delete…/, `no edit buttons on ${route}`);
    }
    await page.goto(`${base}/console/#/audit`);
    await page.waitForSelector('main h1');
    await page.waitForFunction(() => !document.querySelector('main .loading'));
    t.match(await text(page, 'main'), /The log verifies/, 'compliance sees the audit log and its verification');
    await axe(page, 'audit');
    await page.goto(`${base}/console/#/provisioning`);
    await page.waitForSelector('figure.chart');
    t.match(await text(page, 'main'), /SCIM requests from 1 client/, 'provisioning health counts the IdP requests');
    await axe(page, 'provisioning health');
  });

  t.test('a named reviewer keeps and revokes in the console; the closed campaign offers its evidence', async (t) => {
    const reviewer = await ctx.mint('owner');
    const opened = await api('POST', '/reviews/campaigns', {
      body: { name: 'Cloud access', permission: 'codex_cloud', reviewers: [`token:${reviewer.id}`], dueAt: new Date(Date.now() + 86_400_000).toISOString() },
      as: 'compliance',
    });
    t.equal(opened.statusCode, 201, opened.body);
    const campaign = json(opened) as { id: string; items: Array<{ userName: string }> };
    t.same(campaign.items.map((i) => i.userName), ['ada@example.com']);

    const page = await signedIn('owner', reviewer.token);
    await page.goto(`${base}/console/#/reviews`);
    await page.waitForSelector('caption::-p-text(Review campaigns)');
    t.match(await text(page, 'main table'), /Cloud access\s+permission codex_cloud\s+open/);
    await axe(page, 'reviews');
    await page.locator('::-p-aria(Cloud access)').click();
    await page.waitForSelector('#review-title');
    await page.locator('::-p-aria(Comment on ada@example.com)').fill('moved to the data team');
    await page.locator('::-p-aria(Revoke ada@example.com)').click();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ada@example.com: revoke');
    t.match(await text(page, 'main table'), /revoke: moved to the data team/, 'the decision shows once recorded');
    await axe(page, 'a review campaign');
    const item = (json(await api('GET', `/reviews/campaigns/${campaign.id}`)) as { items: Array<{ decision: string; comment: string }> }).items[0];
    t.match(item, { decision: 'revoke', comment: 'moved to the data team' }, 'recorded through the API');

    // Someone not named sees the campaign without decision controls.
    const bystander = await signedIn('compliance');
    await bystander.goto(`${base}/console/#/reviews/${campaign.id}`);
    await bystander.waitForSelector('#review-title');
    t.equal(await bystander.$$eval('main .decide', (els) => els.length), 0, 'no controls for who does not review it');
    t.equal((await api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: 'compliance' })).statusCode, 200);
    await bystander.reload();
    await bystander.waitForSelector('::-p-aria(Download the evidence (CSV))');
  });

  t.test('sign in with the IdP: authorization code with PKCE', async (t) => {
    const idp = await fakeIdp(t);
    const oidcApp = await buildAdminTestApp(t, {
      consoleDir: fromRoot('dist/console'),
      oidc: { issuer: idp.issuer, audiences: [CONSOLE_CLIENT], jwksUrl: `${idp.issuer}/keys`, workspace: 'test', subjectClaim: 'sub', emailClaim: 'email', ownerGroups: [], codexAdminGroups: ['codex-admins'], complianceGroups: [], consoleClientId: CONSOLE_CLIENT },
    });
    const lin = json(await oidcApp.scim('POST', '/Users', { schemas: [USER], userName: 'lin@example.com', externalId: '00u-lin', emails: [{ value: 'lin@example.com', primary: true }] })).id as string;
    await oidcApp.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-admins', members: [{ value: lin }] });
    const oidcBase = await oidcApp.app.listen({ port: 0, host: '127.0.0.1' });
    t.match((await fetch(`${oidcBase}/console/`)).headers.get('content-security-policy'), new RegExp(`connect-src 'self' ${idp.issuer.replace(/[.]/g, '\\.')}`), "the IdP's origin may be called for the token");

    const page = await browser.newPage();
    page.on('pageerror', (error) => scriptErrors.push(`oidc: ${String(error)}`));
    await page.goto(`${oidcBase}/console/`);
    await page.locator('::-p-aria(Sign in with your identity provider)').click();
    await page.waitForSelector('header nav');
    t.match(await text(page, 'header .who'), /codex-admin/, 'signed in as codex-admin, the role their IdP group gives');
    t.equal(idp.exchanges(), 1, 'the code was exchanged once, with its verifier');
    t.notMatch(page.url(), /code=|state=/, 'the code does not stay in the address bar');
    const storage = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie }));
    t.same(storage, { session: ['codex-scim-console-token'], local: 0, cookie: '' }, 'the token is in sessionStorage only');
    await page.goto(`${oidcBase}/console/#/users/${lin}`);
    await page.waitForSelector('#timeline-title');
    t.match(await text(page, 'h1'), 'lin@example.com');
  });

  t.test('no script errors in any tab', async (t) => t.same(scriptErrors, []));
}

/**
 * An OpenID provider on 127.0.0.1 for the console's sign-in: discovery, an authorization endpoint
 * that signs the user straight in (as an IdP would after its login page), a token endpoint that
 * checks the PKCE verifier against the challenge, and the keys. CORS as SPAs need it.
 */
async function fakeIdp(t: Tap): Promise<{ issuer: string; exchanges: () => number }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const pending = new Map<string, { challenge: string; redirectUri: string }>();
  let exchanges = 0;
  let issuer = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(JSON.stringify(body));
    if (url.pathname === '/.well-known/openid-configuration') return send(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/keys` });
    if (url.pathname === '/keys') return send(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('response_type') !== 'code' || q.get('client_id') !== CONSOLE_CLIENT || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return send(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      pending.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
      res.writeHead(302, { location: `${q.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(q.get('state') ?? '')}` }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', async () => {
        const form = new URLSearchParams(body);
        const grant = pending.get(form.get('code') ?? '');
        pending.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!grant || grant.redirectUri !== form.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return send(400, { error: 'invalid_grant' });
        exchanges++;
        const idToken = await new SignJWT({ email: 'lin@example.com', email_verified: true })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(issuer)
          .setSubject('00u-lin')
          .setAudience(CONSOLE_CLIENT)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
        send(200, { token_type: 'Bearer', id_token: idToken, expires_in: 600 });
      });
      return;
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections(); // Chromium's preconnected sockets would hold close() until they time out
    return closed;
  });
  return { issuer, exchanges: () => exchanges };
}
