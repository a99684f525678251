import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { buildPolicyTestApp, json } from './helpers.js';

// The policy endpoints: CRUD, immutable versions, TOML in and out, validation, permissions, audit.

const ctx = await buildPolicyTestApp(t);
const { call } = ctx;

const TOML_V1 = `# Engineering defaults
allowed_approval_policies = ["untrusted", "on-request"]
allowed_sandbox_modes = ["read-only", "workspace-write"]

[features]
web_search_request = false
`;
const TOML_V2 = `${TOML_V1}
[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { token = "push" }], decision = "prompt", justification = "Pushing needs a human." },
]
`;

let policyId = '';

t.test('create: 201 with version 1, Location, ETag, and audit events', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await call('POST', '/policies', { body: { name: 'Engineering', description: 'for engineers', toml: TOML_V1 }, as: 'codex-admin' });
  t.equal(res.statusCode, 201, res.body);
  const body = json(res);
  policyId = body.policy.id;
  t.match(body, {
    policy: { name: 'Engineering', description: 'for engineers', currentVersion: 1, usage: { rulePositions: [], isFallback: false, userCount: 0 } },
    document: { version: 1, toml: TOML_V1, requirements: { allowed_sandbox_modes: ['read-only', 'workspace-write'], features: { web_search_request: false } } },
    warnings: [],
  });
  t.equal(body.document.sha256, createHash('sha256').update(TOML_V1).digest('hex'));
  t.equal(res.headers.etag, '"1"');
  t.equal(res.headers.location, `/api/v1/policies/${policyId}`);
  t.equal(res.headers['x-policy-changed-users'], '0');
  const events = await ctx.events(seq);
  t.same(events.map((e) => e.event_type), ['policy.created', 'policy.version_created']);
  t.match(events[1], { target_type: 'policy', target_id: policyId, actor_type: 'admin', data: { name: 'Engineering', version: 1, toml: TOML_V1, sha256: body.document.sha256 } });
});

t.test('names are unique per workspace, case-insensitively: 409', async (t) => {
  const res = await call('POST', '/policies', { body: { name: 'engineering', toml: '' } });
  t.equal(res.statusCode, 409);
  t.match(json(res), { field: 'name', message: /already exists/ });
});

t.test('invalid TOML: 400 naming field, line and key; nothing is saved', async (t) => {
  const seq = await ctx.lastSeq();
  const syntax = await call('POST', '/policies', { body: { name: 'broken', toml: 'allowed_sandbox_modes = ["read-only"\n[features]\n' } });
  t.equal(syntax.statusCode, 400);
  t.match(json(syntax), { statusCode: 400, error: 'Bad Request', field: 'toml', message: /toml is not a valid requirements\.toml: invalid TOML at line 2, key features: expected comma/ });

  const value = await call('POST', '/policies', {
    body: { name: 'broken', toml: 'allowed_sandbox_modes = ["read-only"]\n\n[[rules.prefix_rules]]\npattern = [{ token = "rm" }]\ndecision = "allow"\njustification = "ok"\n' },
  });
  t.equal(value.statusCode, 400);
  t.match(json(value), { field: 'toml', message: /line 5: rules\.prefix_rules\[0\]\.decision must be one of prompt, forbidden, got "allow"/ });
  t.equal(await ctx.lastSeq(), seq, 'no audit event');
  const list = json(await call('GET', '/policies'));
  t.notOk(list.items.some((p: any) => p.name === 'broken'));
});

t.test('unknown keys: saved, with warnings in the response and on the version', async (t) => {
  const res = await call('POST', '/policies', { body: { name: 'Future', toml: 'allowed_sandbox_modes = ["read-only"]\nsome_2027_key = true\n' } });
  t.equal(res.statusCode, 201, res.body);
  const body = json(res);
  t.match(body.warnings, [{ line: 2, key: 'some_2027_key', message: /not a documented requirements\.toml key/ }]);
  t.match(body.document.warnings, [{ line: 2, key: 'some_2027_key' }]);
});

t.test('request validation names the field', async (t) => {
  const missing = await call('POST', '/policies', { body: { name: 'x' } });
  t.equal(missing.statusCode, 400);
  t.match(json(missing), { field: 'toml', message: /toml is required/ });
  const extra = await call('POST', '/policies', { body: { name: 'x', toml: '', owner: 'me' } });
  t.equal(extra.statusCode, 400);
  t.match(json(extra), { field: 'owner' });
  // Names follow the rule of role names: refused with surrounding spaces, never silently trimmed.
  const padded = await call('POST', '/policies', { body: { name: ' Padded ', toml: '' } });
  t.equal(padded.statusCode, 400);
  t.match(json(padded), { field: 'name', message: /must not be blank, start or end with spaces/ });
  const blank = await call('POST', '/policies', { body: { name: '   ', toml: '' } });
  t.match(json(blank), { statusCode: 400, field: 'name' });
  t.notOk(json(await call('GET', '/policies?limit=500')).items.some((p: { name: string }) => p.name.includes('Padded')), 'neither was saved');
  const badRule = await call('PUT', '/policy-rules', { body: { rules: [{ groupId: 'nope', policyId }] }, headers: { 'if-match': '"0"' } });
  t.equal(badRule.statusCode, 400);
  t.match(json(badRule), { field: 'rules.0.groupId' });
});

t.test('edits: every saved TOML is a new immutable version; the same text again is not', async (t) => {
  const seq = await ctx.lastSeq();
  const res = await call('PATCH', `/policies/${policyId}`, { body: { toml: TOML_V2 }, headers: { 'if-match': '"1"' } });
  t.equal(res.statusCode, 200, res.body);
  t.match(json(res), { policy: { currentVersion: 2 }, document: { version: 2, toml: TOML_V2 } });
  t.equal(res.headers.etag, '"2"');

  const again = await call('PATCH', `/policies/${policyId}`, { body: { toml: TOML_V2 } });
  t.equal(json(again).policy.currentVersion, 2, 'identical text: no new version');

  const renamed = await call('PATCH', `/policies/${policyId}`, { body: { name: 'Engineering default', description: null } });
  t.match(json(renamed), { policy: { name: 'Engineering default', description: null, currentVersion: 2 } });

  const stale = await call('PATCH', `/policies/${policyId}`, { body: { toml: TOML_V1 }, headers: { 'if-match': '"1"' } });
  t.equal(stale.statusCode, 412);
  t.match(json(stale).message, /does not match the current version/);

  const events = await ctx.events(seq);
  t.same(events.map((e) => e.event_type), ['policy.version_created', 'policy.updated']);
  t.match(events[1]!.data, { changed: ['name', 'description'], before: { name: 'Engineering', description: 'for engineers' }, after: { name: 'Engineering default', description: null } });

  const versions = json(await call('GET', `/policies/${policyId}/versions`, { as: 'compliance' }));
  t.same(versions.items.map((v: any) => v.version), [2, 1], 'newest first');
  const v1 = json(await call('GET', `/policies/${policyId}/versions/1`, { as: 'compliance' }));
  t.equal(v1.toml, TOML_V1, 'version 1 is unchanged');
  const page = json(await call('GET', `/policies/${policyId}/versions?limit=1`));
  t.equal(page.items[0].version, 2);
  const page2 = json(await call('GET', `/policies/${policyId}/versions?limit=1&cursor=${page.nextCursor}`));
  t.same(page2.items.map((v: any) => v.version), [1]);
  t.equal(page2.nextCursor, null);
});

t.test('versions are immutable in the database too', async (t) => {
  await t.rejects(
    sql`update policy_versions set toml = 'x' where policy_id = ${policyId}`.execute(ctx.db.db),
    /policy versions are immutable: UPDATE refused/,
  );
  await t.rejects(sql`delete from policy_versions where policy_id = ${policyId}`.execute(ctx.db.db), /policy versions are immutable: DELETE refused/);
});

t.test('TOML out: Accept: application/toml returns exactly the saved text', async (t) => {
  const res = await call('GET', `/policies/${policyId}`, { headers: { accept: 'application/toml' }, as: 'compliance' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/toml/);
  t.equal(res.body, TOML_V2);
  const v1 = await call('GET', `/policies/${policyId}/versions/1`, { headers: { accept: 'application/json;q=0.5, application/toml' } });
  t.equal(v1.body, TOML_V1);
  const jsonByDefault = await call('GET', `/policies/${policyId}`, { headers: { accept: '*/*' } });
  t.match(jsonByDefault.headers['content-type'], /^application\/json/);
  t.equal(json(jsonByDefault).document.toml, TOML_V2);

  // The same through a user: what that user's Codex enforces.
  const group = await ctx.group('eng-users', [await ctx.user('tom@example.com')]);
  t.equal((await ctx.setRules([{ groupId: group, policyId }])).statusCode, 200);
  const user = await call('GET', '/users/tom@example.com/policy', { headers: { accept: 'application/toml' }, as: 'compliance' });
  t.equal(user.statusCode, 200);
  t.equal(user.body, TOML_V2);
  t.equal(user.headers['x-policy-id'], policyId);
  t.equal(user.headers['x-policy-version'], '2');
});

t.test('roles: owner and codex-admin manage, compliance reads', async (t) => {
  const writes: Array<[string, 'POST' | 'PATCH' | 'DELETE' | 'PUT', string, unknown, Record<string, string>?]> = [
    ['create', 'POST', '/policies', { name: 'c', toml: '' }],
    ['edit', 'PATCH', `/policies/${policyId}`, { description: 'x' }],
    ['delete', 'DELETE', `/policies/${policyId}`, undefined],
    ['rules', 'PUT', '/policy-rules', { rules: [] }, { 'if-match': '*' }],
    ['fallback', 'PUT', '/policy-fallback', { policyId }],
    ['clear fallback', 'DELETE', '/policy-fallback', undefined],
  ];
  for (const [name, method, url, body, headers] of writes) {
    const res = await call(method, url, { body, headers, as: 'compliance' });
    t.equal(res.statusCode, 403, `compliance may not ${name}`);
  }
  const reads = ['/policies', `/policies/${policyId}`, `/policies/${policyId}/versions`, `/policies/${policyId}/versions/1`, `/policies/${policyId}/users`, '/policy-rules', '/users/tom@example.com/policy'];
  for (const url of reads) {
    for (const as of ['owner', 'codex-admin', 'compliance'] as const) t.equal((await call('GET', url, { as })).statusCode, 200, `${as} reads ${url}`);
  }
  const codexAdmin = await call('POST', '/policies', { body: { name: 'by codex admin', toml: '' }, as: 'codex-admin' });
  t.equal(codexAdmin.statusCode, 201);
  t.equal((await call('DELETE', `/policies/${json(codexAdmin).policy.id}`, { as: 'codex-admin' })).statusCode, 204);
  const noToken = await ctx.app.inject({ method: 'GET', url: '/api/v1/policies' });
  t.equal(noToken.statusCode, 401);
});

t.test('delete: refused while a rule or the fallback names the policy, then cascades its versions', async (t) => {
  const inRule = await call('DELETE', `/policies/${policyId}`);
  t.equal(inRule.statusCode, 409);
  t.match(json(inRule).message, /in use by rule 1/);

  t.equal((await ctx.setRules([])).statusCode, 200);
  t.equal((await ctx.setFallback(policyId)).statusCode, 200);
  const asFallback = await call('DELETE', `/policies/${policyId}`);
  t.equal(asFallback.statusCode, 409);
  t.match(json(asFallback).message, /in use by the fallback/);

  t.equal((await ctx.setFallback(null)).statusCode, 200);
  const seq = await ctx.lastSeq();
  const res = await call('DELETE', `/policies/${policyId}`);
  t.equal(res.statusCode, 204, res.body);
  const [deleted] = await ctx.events(seq);
  t.match(deleted, { event_type: 'policy.deleted', target_id: policyId, data: { name: 'Engineering default', versions: 2 } });
  t.equal((await call('GET', `/policies/${policyId}`)).statusCode, 404);
  const left = await ctx.db.db.selectFrom('policy_versions').select('version').where('policy_id', '=', policyId).execute();
  t.same(left, [], 'versions went with the policy (the trail keeps their text)');
});

t.test('rules: If-Match is required and must be current; bad references name the field', async (t) => {
  const p = await ctx.policy('p-rules');
  const g = await ctx.group('g-rules');
  const missing = await call('PUT', '/policy-rules', { body: { rules: [] } });
  t.equal(missing.statusCode, 428);
  const any = await call('PUT', '/policy-rules', { body: { rules: [] }, headers: { 'if-match': '*' } });
  t.equal(any.statusCode, 428, 'If-Match: * names no version and is refused');
  const current = await call('GET', '/policy-rules');
  const etag = String(current.headers.etag);
  t.equal(etag, `"${json(current).version}"`);
  const stale = await call('PUT', '/policy-rules', { body: { rules: [] }, headers: { 'if-match': `"${json(current).version - 1}"` } });
  t.equal(stale.statusCode, 412);
  const unknownGroup = await call('PUT', '/policy-rules', { body: { rules: [{ groupId: '00000000-0000-4000-8000-000000000001', policyId: p }] }, headers: { 'if-match': etag } });
  t.match(json(unknownGroup), { statusCode: 400, field: 'rules.0.groupId', message: /no group/ });
  const unknownPolicy = await call('PUT', '/policy-rules', {
    body: { rules: [{ groupId: g, policyId: p }, { groupId: (await ctx.group('g2')), policyId: '00000000-0000-4000-8000-000000000002' }] },
    headers: { 'if-match': etag },
  });
  t.match(json(unknownPolicy), { statusCode: 400, field: 'rules.1.policyId' });
  const duplicate = await call('PUT', '/policy-rules', { body: { rules: [{ groupId: g, policyId: p }, { groupId: g, policyId: p }] }, headers: { 'if-match': etag } });
  t.match(json(duplicate), { statusCode: 400, field: 'rules.1.groupId', message: /repeats the group of rules\[0\]/ });
  const ok = await call('PUT', '/policy-rules', { body: { rules: [{ groupId: g, policyId: p }] }, headers: { 'if-match': etag } });
  t.equal(ok.statusCode, 200);
  t.equal(ok.headers.etag, `"${json(current).version + 1}"`);
  const badFallback = await call('PUT', '/policy-fallback', { body: { policyId: '00000000-0000-4000-8000-000000000003' } });
  t.match(json(badFallback), { statusCode: 400, field: 'policyId' });
});

t.test('list: name order, keyset pages', async (t) => {
  const all: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = json(await call('GET', `/policies?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { as: 'compliance' }));
    all.push(...page.items.map((p: any) => p.name));
    cursor = page.nextCursor;
  } while (cursor);
  t.same(all, [...all].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  t.ok(all.includes('Future'));
  t.equal((await call('GET', '/policies?cursor=garbage')).statusCode, 400);
});
