import { api, canAudit, download, enc } from '../api.js';
import { h, link, show, table, when } from '../dom.js';
import type { Page } from '../main.js';
import { problemText } from '../preview.js';

// Access review campaigns: the list, and a campaign's holders with the decision on each. A named
// reviewer decides keep or revoke here; a closed campaign offers its evidence and removals.

interface Campaign {
  id: string;
  name: string;
  subject: { kind: string; name: string };
  dueAt: string;
  status: 'open' | 'closed';
  overdue: boolean;
  openedAt: string;
  closedAt: string | null;
  reviewers: Array<{ principal: string; display: string }>;
  progress: { holders: number; kept: number; revoked: number; undecided: number; changedDuringReview: number };
}

interface Item {
  userId: string;
  userName: string | null;
  since: string | null;
  reason: string;
  decision: 'keep' | 'revoke' | null;
  comment: string | null;
  decidedBy: { display: string } | null;
  decidedAt: string | null;
  changedDuringReview: { at: string; reason: string; stillHolds: boolean } | null;
}

const progressText = (c: Campaign) =>
  `${c.progress.kept} kept, ${c.progress.revoked} revoked, ${c.progress.undecided} of ${c.progress.holders} undecided${c.progress.changedDuringReview ? `; ${c.progress.changedDuringReview} changed during the review` : ''}`;

export async function reviewsPage(page: Page): Promise<void> {
  const { items } = await api<{ items: Campaign[] }>('/reviews/campaigns?limit=100');
  show(
    page.main,
    h('h1', {}, 'Access reviews'),
    h('p', {}, canAudit(page.session) ? 'Every campaign of the workspace. Open one with POST /api/v1/reviews/campaigns.' : 'The campaigns you are named a reviewer of.'),
    table(
      'Review campaigns, newest first',
      ['Campaign', 'Reviews', 'Status', 'Due', 'Progress'],
      items.map((c) => [link(`#/reviews/${enc(c.id)}`, c.name), `${c.subject.kind} ${c.subject.name}`, c.status === 'open' && c.overdue ? 'open, overdue' : c.status, when(c.dueAt), progressText(c)]),
    ),
  );
}

export async function reviewPage(page: Page, id: string): Promise<void> {
  const campaign = await api<Campaign & { items: Item[] }>(`/reviews/campaigns/${enc(id)}`);
  const reviewing = campaign.status === 'open' && campaign.reviewers.some((r) => r.principal === page.session.principal);
  const status = document.getElementById('status')!;
  const decide = async (item: Item, decision: 'keep' | 'revoke', comment: HTMLInputElement) => {
    try {
      await api(`/reviews/campaigns/${enc(id)}/decisions/${enc(item.userId)}`, { method: 'PUT', body: { decision, comment: comment.value.trim() || null } });
      await page.refresh();
      status.textContent = `${item.userName ?? item.userId}: ${decision}`;
    } catch (error) {
      status.textContent = `The decision was not recorded: ${problemText(error)}`;
    }
  };
  const controls = (item: Item) => {
    const label = item.userName ?? item.userId;
    const comment = h('input', { type: 'text', 'aria-label': `Comment on ${label}`, value: item.comment ?? '', maxlength: 2000 });
    return h(
      'span',
      { class: 'decide' },
      comment,
      h('button', { type: 'button', 'aria-label': `Keep ${label}`, onclick: () => void decide(item, 'keep', comment) }, 'Keep'),
      h('button', { type: 'button', 'aria-label': `Revoke ${label}`, onclick: () => void decide(item, 'revoke', comment) }, 'Revoke'),
    );
  };
  const file = `review-${campaign.id}`;
  show(
    page.main,
    h('h1', { id: 'review-title' }, campaign.name),
    h(
      'p',
      {},
      `Holders of ${campaign.subject.kind} ${campaign.subject.name} when it opened (${when(campaign.openedAt)}). Due ${when(campaign.dueAt)}${campaign.overdue ? ' (overdue)' : ''}. Reviewers: ${campaign.reviewers.map((r) => r.display).join(', ')}. ${progressText(campaign)}.`,
    ),
    campaign.status === 'closed'
      ? h(
          'p',
          {},
          `Closed ${when(campaign.closedAt)}. `,
          h('button', { type: 'button', onclick: () => void download(`/reviews/campaigns/${enc(id)}/evidence?format=csv`, `${file}.csv`) }, 'Download the evidence (CSV)'),
          ' ',
          h('button', { type: 'button', onclick: () => void download(`/reviews/campaigns/${enc(id)}/removals?format=csv`, `${file}-removals.csv`) }, 'Download the removals (CSV)'),
        )
      : '',
    table(
      'Holders under review',
      ['User', 'Why they held it', 'Since', 'Changed during the review', 'Decision', ...(reviewing ? ['Decide'] : [])],
      campaign.items.map((item) => [
        link(`#/users/${enc(item.userId)}`, item.userName ?? item.userId),
        item.reason,
        when(item.since),
        item.changedDuringReview ? `${when(item.changedDuringReview.at)}: ${item.changedDuringReview.reason}${item.changedDuringReview.stillHolds ? '' : ' (no longer holds it)'}` : '',
        item.decision ? `${item.decision}${item.comment ? `: ${item.comment}` : ''} (${item.decidedBy?.display ?? ''}, ${when(item.decidedAt)})` : 'undecided',
        ...(reviewing ? [controls(item)] : []),
      ]),
    ),
  );
}
