import { all, api, enc, q } from '../api.js';
import { lineChart } from '../chart.js';
import { h, link, show, table, when } from '../dom.js';
import type { Page } from '../main.js';

// Groups: search; one group's members (paged), the roles mapped to it, the policy rules that
// name it, its size over time and its history.

export async function groupsPage(page: Page): Promise<void> {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '').get('q') ?? '';
  const input = h('input', { id: 'group-search', name: 'q', type: 'search', value: query, autocomplete: 'off' });
  const form = h('form', { role: 'search', class: 'search' }, h('label', { for: 'group-search' }, 'Search groups by name'), input, h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/groups?q=${enc(input.value.trim())}`;
  });
  const found = await api<{ items: Array<{ id: string; displayName: string; memberCount: number }> }>(`/groups${q({ search: query, limit: 100 })}`);
  show(page.main, h('h1', {}, 'Groups'), form, table('Groups', ['Group', 'Members'], found.items.map((g) => [link(`#/groups/${enc(g.id)}`, g.displayName), g.memberCount])));
}

export async function groupPage(page: Page, ref: string, cursor?: string): Promise<void> {
  const id = enc(ref);
  const group = await api<{ id: string; displayName: string; externalId: string | null; memberCount: number }>(`/groups/${id}`);
  const [members, mappings, policy, size, history] = await Promise.all([
    api<{ items: Array<{ id: string; userName: string; displayName: string | null; active: boolean }>; nextCursor: string | null }>(`/groups/${id}/members${q({ limit: 50, cursor })}`),
    all<{ id: string; roleName: string; group: { by: string; value: string } }>(`/mappings?groupId=${enc(group.id)}`),
    api<{ rule: { position: number; policy: { name: string } } | null; earlierRules: unknown[] }>(`/groups/${id}/policy`),
    api<{ days: Array<{ date: string; count: number }> }>(`/groups/${id}/size-over-time?days=30`),
    api<{ items: Array<{ occurredAt: string; type: string; data: Record<string, unknown>; actor: { type: string; id: string; display?: string | null } }> }>(`/groups/${id}/history?order=desc&limit=50`),
  ]);
  const more = members.nextCursor
    ? h('button', { type: 'button', onclick: () => void groupPage(page, ref, members.nextCursor!) }, 'Next members')
    : '';
  show(
    page.main,
    h('h1', {}, group.displayName),
    h('p', {}, `${group.memberCount} member(s)`, group.externalId ? ` · externalId ${group.externalId}` : ''),
    h('section', { 'aria-labelledby': 'roles-title' },
      h('h2', { id: 'roles-title' }, 'Mapped roles'),
      mappings.length === 0 ? h('p', {}, 'No role is mapped to this group.') : h('ul', {}, mappings.map((m) => h('li', {}, `${m.roleName} (mapped by ${m.group.by} "${m.group.value}")`))),
      h('p', {}, policy.rule ? `Policy rule ${policy.rule.position} assigns ${policy.rule.policy.name} to its members.` : 'No policy rule names this group.'),
    ),
    lineChart('Members over the last 30 days', { label: 'members', points: size.days }),
    h('section', { 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title' }, 'Members'),
      table('Members', ['User', 'Name', 'Status'], members.items.map((m) => [link(`#/users/${enc(m.id)}`, m.userName), m.displayName ?? '—', m.active ? 'active' : 'deactivated'])),
      more,
    ),
    h('section', { 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, 'History'),
      table('Recent events', ['When', 'Event', 'Detail', 'By'], history.items.map((e) => [when(e.occurredAt), e.type, describeEvent(e.data), e.actor.display ?? `${e.actor.type} ${e.actor.id}`])),
    ),
  );
}

function describeEvent(data: Record<string, unknown>): string {
  if (typeof data.userId === 'string') return `user ${data.userId}`;
  if (typeof data.from === 'string' && typeof data.to === 'string') return `${data.from} → ${data.to}`;
  if (typeof data.displayName === 'string') return data.displayName;
  return '';
}
