import { all, api, enc, q } from '../api.js';
import { lineChart } from '../chart.js';
import { h, link, show, table } from '../dom.js';
import type { Page } from '../main.js';

// Permissions: the catalogue; one permission's holders (paged) and their number over time.

export async function permissionsPage(page: Page): Promise<void> {
  const permissions = await all<{ key: string; description: string; baseline: boolean }>('/permissions');
  show(page.main, h('h1', {}, 'Permissions'), table('The permission catalogue', ['Permission', 'Description', 'Baseline'], permissions.map((p) => [link(`#/permissions/${enc(p.key)}`, p.key), p.description, p.baseline ? 'on' : 'off'])));
}

export async function permissionPage(page: Page, key: string, cursor?: string): Promise<void> {
  const [holders, history] = await Promise.all([
    api<{ holders: Array<{ id: string; userName: string; displayName: string | null; active: boolean }>; nextCursor: string | null; total?: number }>(`/permissions/${enc(key)}/holders${q({ limit: 50, cursor, includeTotal: 'true' })}`),
    api<{ days: Array<{ date: string; count: number }> }>(`/permissions/${enc(key)}/holders-over-time?days=30`),
  ]);
  show(
    page.main,
    h('h1', {}, key),
    h('p', {}, `${holders.total ?? holders.holders.length} holder(s) now.`),
    lineChart(`Holders of ${key} over the last 30 days`, { label: 'holders', points: history.days }),
    table('Holders', ['User', 'Name'], holders.holders.map((u) => [link(`#/users/${enc(u.id)}`, u.userName), u.displayName ?? '—'])),
    holders.nextCursor ? h('button', { type: 'button', onclick: () => void permissionPage(page, key, holders.nextCursor!) }, 'Next holders') : '',
  );
}
