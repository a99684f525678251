import t from 'tap';
import { buildAdminTestApp, json } from '../routes/admin/helpers.js';

// Review campaigns end to end through the real app: compliance opens one over codex_admin with a
// codex-admin as the named reviewer; the reviewer keeps one holder and revokes two; one of them
// leaves the IdP group meanwhile (flagged, and not a removal any more), someone joins (a new
// holder, not reviewed); closing freezes the evidence with the signed head and the removals to
// carry out in the IdP. Every step is an audit event.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const WEEK = 7 * 24 * 3600 * 1000;

t.test('a review campaign from opening to evidence', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const user = async (userName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName })).id as string;
  const [alice, bob, carol, dave] = [await user('alice@example.com'), await user('bob@example.com'), await user('carol@example.com'), await user('dave@example.com')];
  const admins = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-admins', members: [alice, bob, carol].map((value) => ({ value })) })).id as string;
  const cloud = json(await api('GET', '/roles/Codex%20Cloud')).id as string;
  const reviewer = await ctx.mint('codex-admin');
  const bystander = await ctx.mint('codex-admin');
  const asReviewer = { token: reviewer.token };
  const dueAt = new Date(Date.now() + WEEK).toISOString();

  // Opening: compliance and owners only; the body is checked before anything is stored.
  const body = { name: 'Q4 codex_admin review', permission: 'codex_admin', reviewers: [`token:${reviewer.id}`], dueAt };
  t.equal((await api('POST', '/reviews/campaigns', { body, as: 'codex-admin' })).statusCode, 403, 'a codex-admin does not open reviews');
  for (const [bad, pointer] of [
    [{ ...body, dueAt: new Date(Date.now() - 1000).toISOString() }, '/dueAt'],
    [{ ...body, reviewers: ['nobody@example.com'] }, '/reviewers/0'],
    [{ ...body, reviewers: ['token:00000000-0000-4000-8000-000000000000'] }, '/reviewers/0'],
    [{ ...body, role: 'Codex Admin' }, '/role'],
  ] as const) {
    const res = await api('POST', '/reviews/campaigns', { body: bad, as: 'compliance' });
    t.equal(res.statusCode, 400, res.body);
    t.equal(json(res).errors[0].pointer, pointer);
  }
  t.equal((await api('GET', '/reviews/campaigns', { as: 'compliance' })).body, JSON.stringify({ items: [], nextCursor: null }), 'refused openings stored nothing');

  const opened = await api('POST', '/reviews/campaigns', { body, as: 'compliance' });
  t.equal(opened.statusCode, 201, opened.body);
  const campaign = json(opened);
  t.match(campaign, {
    name: 'Q4 codex_admin review',
    subject: { kind: 'permission', id: 'codex_admin', name: 'codex_admin' },
    status: 'open',
    overdue: false,
    reviewers: [{ principal: `token:${reviewer.id}`, display: 'test codex-admin' }],
    progress: { holders: 3, kept: 0, revoked: 0, undecided: 3, changedDuringReview: 0 },
    openedHead: { treeSize: Number, checkpoint: String },
    openedBy: { type: 'admin' },
  });
  t.same(campaign.items.map((i: { userName: string }) => i.userName), ['alice@example.com', 'bob@example.com', 'carol@example.com']);
  t.match(campaign.items[0], { userId: alice, reason: 'added to group codex-admins', decision: null, changedDuringReview: null, grantedByEvent: String });

  // Who sees it: the named reviewer and those who run reviews; another codex-admin does not.
  t.equal(json(await api('GET', '/reviews/campaigns', { as: asReviewer })).items.length, 1);
  t.equal(json(await api('GET', '/reviews/campaigns', { as: { token: bystander.token } })).items.length, 0);
  t.equal((await api('GET', `/reviews/campaigns/${campaign.id}`, { as: { token: bystander.token } })).statusCode, 404);
  t.equal((await api('GET', `/reviews/campaigns/${campaign.id}`, { as: 'owner' })).statusCode, 200);

  // Deciding: named reviewers only.
  const decide = (who: string, decision: string, comment?: string, as: { token: string } | 'compliance' = asReviewer) =>
    api('PUT', `/reviews/campaigns/${campaign.id}/decisions/${who}`, { body: { decision, ...(comment === undefined ? {} : { comment }) }, as });
  t.equal((await decide(alice, 'keep', undefined, 'compliance')).statusCode, 403, 'running reviews is not reviewing');
  t.equal((await decide(alice, 'keep', undefined, { token: bystander.token })).statusCode, 404);
  t.equal((await decide(dave, 'keep')).statusCode, 404, 'dave holds nothing under review');
  t.equal((await decide(alice, 'maybe')).statusCode, 400);
  const kept = await decide('alice@example.com', 'keep', 'on the platform team');
  t.equal(kept.statusCode, 200, kept.body);
  t.match(json(kept), { userId: alice, decision: 'keep', comment: 'on the platform team', decidedBy: { principal: `token:${reviewer.id}` }, decidedAt: String });
  t.equal((await decide(bob, 'revoke', 'left the team')).statusCode, 200);
  t.equal((await decide(carol, 'keep')).statusCode, 200);
  t.equal((await decide(carol, 'revoke', 'no longer needs it')).statusCode, 200, 'a decision can be changed while open');
  t.equal((await decide(carol, 'revoke', 'no longer needs it')).statusCode, 200, 'the same decision again changes nothing');

  // Meanwhile in the IdP: carol leaves the group, dave joins it; bob also gets a role directly.
  t.equal((await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${carol}"]` }] })).statusCode, 200);
  t.equal((await scim('PATCH', `/Groups/${admins}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: dave }] }] })).statusCode, 200);
  t.equal((await api('PUT', `/users/${bob}/roles/${cloud}`)).statusCode, 201);
  const during = json(await api('GET', `/reviews/campaigns/${campaign.id}`, { as: asReviewer }));
  t.match(during.progress, { holders: 3, kept: 1, revoked: 2, undecided: 0, changedDuringReview: 1 });
  t.match(during.items.find((i: { userId: string }) => i.userId === carol).changedDuringReview, { reason: 'removed from group codex-admins', stillHolds: false, eventId: String });
  t.equal(during.items.find((i: { userId: string }) => i.userId === bob).changedDuringReview, null, 'a role that grants other permissions is no change of codex_admin');

  // Closing: compliance; the evidence is frozen.
  t.equal((await api('GET', `/reviews/campaigns/${campaign.id}/evidence`, { as: 'compliance' })).statusCode, 409, 'no evidence before the close');
  t.equal((await api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: asReviewer })).statusCode, 403, 'reviewers do not close');
  const closed = await api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: 'compliance' });
  t.equal(closed.statusCode, 200, closed.body);
  const evidence = json(closed);
  t.match(evidence, {
    campaign: { status: 'closed', closedAt: String, closedBy: { type: 'admin' }, progress: { kept: 1, revoked: 2, undecided: 0, changedDuringReview: 1 } },
    removals: [
      {
        userId: bob,
        comment: 'left the team',
        decidedBy: 'test codex-admin',
        actions: [{ kind: 'remove_from_group', groupId: admins, displayName: 'codex-admins', where: 'idp' }],
        instructions: ['In the IdP, remove bob@example.com from the group codex-admins'],
      },
    ],
    alreadyRemoved: [{ userId: carol, change: { reason: 'removed from group codex-admins' } }],
    newHolders: [{ userId: dave, userName: 'dave@example.com' }],
    auditHead: { treeSize: Number, rootHash: String },
  });
  t.equal(evidence.removals.length, 1);
  t.ok(evidence.auditHead.treeSize > campaign.openedHead.treeSize);
  t.same(json(await api('GET', `/reviews/campaigns/${campaign.id}/evidence`, { as: asReviewer })), evidence, 'the same evidence, read back');

  // The decisions are in the audit trail, and provably under the evidence's head.
  const events = json(await api('GET', `/audit/events?type=review.opened,review.decided,review.closed&limit=100`, { as: 'compliance' }));
  const types = events.items.map((e: { type: string }) => e.type).sort();
  t.same(types, ['review.closed', 'review.decided', 'review.decided', 'review.decided', 'review.decided', 'review.opened']);
  const replaced = events.items.find((e: { type: string; data: { previous: string | null; userId: string } }) => e.type === 'review.decided' && e.data.previous === 'keep');
  t.match(replaced.data, { userId: carol, decision: 'revoke', previous: 'keep', comment: 'no longer needs it' });
  const decided = events.items.find((e: { type: string }) => e.type === 'review.decided');
  const proof = await api('GET', `/audit/events/${decided.id}/proof?treeSize=${evidence.auditHead.treeSize}`, { as: 'compliance' });
  t.equal(proof.statusCode, 200, proof.body);
  t.equal(json(proof).rootHash, evidence.auditHead.rootHash);

  // Formats, and nothing after the close.
  const csv = await api('GET', `/reviews/campaigns/${campaign.id}/evidence?format=csv`, { as: 'compliance' });
  const lines = csv.body.trimEnd().split('\r\n');
  t.equal(lines.length, 4, 'a header and a row per holder');
  t.match(lines[2], `"${bob}","bob@example.com"`);
  t.match(lines[2], '"revoke","left the team","test codex-admin"');
  const removals = await api('GET', `/reviews/campaigns/${campaign.id}/removals?format=csv`, { as: 'compliance' });
  t.match(removals.headers['content-disposition'], /removals\.csv"$/);
  t.same(removals.body.trimEnd().split('\r\n').slice(1), [`"${bob}","bob@example.com","idp","remove_from_group","${admins}","codex-admins","","","In the IdP, remove bob@example.com from the group codex-admins","left the team","test codex-admin"`]);
  const html = await api('GET', `/reviews/campaigns/${campaign.id}/evidence?format=html`, { as: 'compliance' });
  t.match(html.body, /<h1>Access review: Q4 codex_admin review<\/h1>/);
  t.match(html.body, /In the IdP, remove bob@example\.com from the group codex-admins/);
  t.equal((await decide(alice, 'revoke')).statusCode, 409, 'closed: decisions are final');
  t.equal((await api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: 'compliance' })).statusCode, 409);
  t.equal(json(await api('GET', '/reviews/campaigns?status=open', { as: 'compliance' })).items.length, 0);
  const closedList = json(await api('GET', '/reviews/campaigns?status=closed', { as: 'compliance' })).items;
  t.equal(closedList.length, 1);
  t.same(closedList[0].progress, evidence.campaign.progress, 'listed with the progress frozen at close');
});

t.test('a campaign over a role says where each removal is carried out', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const user = async (userName: string) => json(await scim('POST', '/Users', { schemas: [USER], userName })).id as string;
  const [erin, frank] = [await user('erin@example.com'), await user('frank@example.com')];
  const cloudUsers = json(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-cloud-users', members: [{ value: erin }] })).id as string;
  const cloud = json(await api('GET', '/roles/Codex%20Cloud')).id as string;
  t.equal((await api('PUT', `/users/${erin}/roles/${cloud}`)).statusCode, 201);
  t.equal((await api('PUT', `/users/${frank}/roles/${cloud}`)).statusCode, 201);
  const reviewer = await ctx.mint('owner');
  const opened = await api('POST', '/reviews/campaigns', {
    body: { name: 'Cloud', role: 'codex cloud', reviewers: [`token:${reviewer.id}`], dueAt: new Date(Date.now() + WEEK).toISOString() },
    as: 'owner',
  });
  t.equal(opened.statusCode, 201, opened.body);
  const campaign = json(opened);
  t.match(campaign.subject, { kind: 'role', id: cloud, name: 'Codex Cloud' });
  t.equal(campaign.items.length, 2);
  for (const who of [erin, frank]) t.equal((await api('PUT', `/reviews/campaigns/${campaign.id}/decisions/${who}`, { body: { decision: 'revoke' }, as: { token: reviewer.token } })).statusCode, 200);
  const evidence = json(await api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: 'owner' }));
  const of = (id: string) => evidence.removals.find((r: { userId: string }) => r.userId === id);
  t.same(
    of(erin).actions.map((a: { kind: string; where: string }) => [a.kind, a.where]).sort(),
    [
      ['remove_from_group', 'idp'],
      ['unassign_direct_role', 'bridge'],
    ],
    'erin holds it twice: through the group and directly',
  );
  t.same(of(frank).instructions, [`In the bridge, unassign the role Codex Cloud from frank@example.com (DELETE /api/v1/users/${frank}/roles/${cloud})`]);
  t.match(of(erin).actions.find((a: { kind: string }) => a.kind === 'remove_from_group'), { groupId: cloudUsers });
  t.same(evidence.newHolders, []);
});

t.test('concurrent decisions and a close: one event per decision, and none after the close', async (t) => {
  const ctx = await buildAdminTestApp(t);
  const { api, scim } = ctx;
  const users: string[] = [];
  for (let i = 0; i < 6; i++) users.push(json(await scim('POST', '/Users', { schemas: [USER], userName: `user${i}@example.com` })).id as string);
  t.equal((await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'codex-admins', members: users.map((value) => ({ value })) })).statusCode, 201);
  const reviewers = [await ctx.mint('codex-admin'), await ctx.mint('compliance')];
  const campaign = json(
    await api('POST', '/reviews/campaigns', {
      body: { name: 'Race', permission: 'codex_admin', reviewers: reviewers.map((r) => `token:${r.id}`), dueAt: new Date(Date.now() + WEEK).toISOString() },
      as: 'owner',
    }),
  );
  const decisions = users.flatMap((user, i) =>
    reviewers.map((r, j) => ({ user, token: r.token, decision: (i + j) % 2 === 0 ? 'keep' : 'revoke' })),
  );
  const results = await Promise.all([
    ...decisions.map((d) => api('PUT', `/reviews/campaigns/${campaign.id}/decisions/${d.user}`, { body: { decision: d.decision, comment: `by ${d.token.slice(-6)}` }, as: { token: d.token } })),
    api('POST', `/reviews/campaigns/${campaign.id}/close`, { as: 'owner' }),
  ]);
  const closeRes = results.pop()!;
  t.equal(closeRes.statusCode, 200, closeRes.body);
  t.ok(results.every((r) => r.statusCode === 200 || r.statusCode === 409), results.map((r) => r.statusCode).join());
  const accepted = results.filter((r) => r.statusCode === 200).length;
  const events = json(await api('GET', '/audit/events?type=review.decided&limit=100', { as: 'compliance' })).items;
  t.equal(events.length, accepted, 'exactly one review.decided per accepted decision');
  // Per holder, the decisions chain: each names the one it replaced, and the evidence has the last.
  const evidence = json(await api('GET', `/reviews/campaigns/${campaign.id}/evidence`, { as: 'owner' }));
  for (const user of users) {
    const chain = events.filter((e: { data: { userId: string } }) => e.data.userId === user).sort((a: { seq: number }, b: { seq: number }) => a.seq - b.seq);
    let previous: string | null = null;
    for (const e of chain) {
      t.equal(e.data.previous, previous, 'each decision names the one it replaced');
      previous = e.data.decision;
    }
    t.equal(evidence.holders.find((h: { userId: string }) => h.userId === user).decision, previous, 'the evidence has the last decision');
  }
});
