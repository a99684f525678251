import { all, api, enc, q } from '../api.js';
import { h, link, show, table, when } from '../dom.js';
import type { Page } from '../main.js';

// Users: search by name, userName or email; one user's effective permissions with their reasons,
// groups, roles, the policy that applies and why, and the timeline of their access changes.

interface UserRow {
  id: string;
  userName: string;
  displayName: string | null;
  emails: Array<{ value: string }>;
  active: boolean;
}

export async function usersPage(page: Page): Promise<void> {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '').get('q') ?? '';
  const input = h('input', { id: 'user-search', name: 'q', type: 'search', value: query, autocomplete: 'off' });
  const form = h('form', { role: 'search', class: 'search' }, h('label', { for: 'user-search' }, 'Search users by name, userName or email'), input, h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/users?q=${enc(input.value.trim())}`;
  });
  const results = h('div', { id: 'user-results' });
  show(page.main, h('h1', {}, 'Users'), form, results);
  input.focus();
  const found = await api<{ items: UserRow[]; nextCursor: string | null }>(`/users${q({ search: query, limit: 50 })}`);
  show(
    results,
    table(
      query ? `Users matching "${query}"` : 'Users',
      ['User', 'Name', 'Email', 'Status'],
      found.items.map((u) => [link(`#/users/${enc(u.id)}`, u.userName), u.displayName ?? '—', u.emails[0]?.value ?? '—', u.active ? 'active' : 'deactivated']),
    ),
    found.nextCursor ? h('p', {}, 'More users match: narrow the search.') : '',
  );
}

interface Permission {
  key: string;
  value: boolean;
  decidedBy: string;
  reasons: string[];
}

interface TimelineEntry {
  at: string;
  gained: string[];
  lost: string[];
  reason: string;
  actor: { type: string; id: string; display: string | null };
}

export async function userPage(page: Page, ref: string): Promise<void> {
  const id = enc(ref);
  const [effective, groups, roles, policy, timeline] = await Promise.all([
    api<{ user: { id: string; userName: string; displayName: string | null; email: string | null; active: boolean }; strategy: string; usedDefaultRole: boolean; roles: Array<{ roleName: string }>; permissions: Permission[] }>(`/users/${id}/effective-permissions`),
    all<{ id: string; displayName: string }>(`/users/${id}/groups`),
    api<Array<{ roleName: string; assignedAt: string }>>(`/users/${id}/roles`),
    api<{ policy: { id: string; name: string; version: number } | null; reason: string }>(`/users/${id}/policy`),
    api<{ entries: TimelineEntry[]; nextCursor: string | null }>(`/users/${id}/access-timeline?limit=100`),
  ]);
  const user = effective.user;
  show(
    page.main,
    h('h1', {}, user.displayName ? `${user.displayName} (${user.userName})` : user.userName),
    h('p', {}, user.active ? 'Active' : 'Deactivated', user.email ? ` · ${user.email}` : '', ` · strategy ${effective.strategy}`, effective.usedDefaultRole ? ' · holds the default role' : ''),
    h('section', { 'aria-labelledby': 'perm-title' },
      h('h2', { id: 'perm-title' }, 'Effective permissions'),
      table('Each permission, granted or not, and why', ['Permission', 'Granted', 'Why'], effective.permissions.map((p) => [p.key, p.value ? 'yes' : 'no', h('ul', { class: 'reasons' }, p.reasons.map((r) => h('li', {}, r)))])),
    ),
    h('section', { 'aria-labelledby': 'groups-title' },
      h('h2', { id: 'groups-title' }, 'Groups and roles'),
      h('ul', {}, groups.map((g) => h('li', {}, link(`#/groups/${enc(g.id)}`, g.displayName)))),
      h('p', {}, `Roles: ${effective.roles.map((r) => r.roleName).join(', ') || 'none'}`, roles.length > 0 ? ` (assigned directly: ${roles.map((r) => r.roleName).join(', ')})` : ''),
    ),
    h('section', { 'aria-labelledby': 'policy-title' },
      h('h2', { id: 'policy-title' }, 'Managed policy'),
      h('p', {}, policy.policy ? `${policy.policy.name} (version ${policy.policy.version}): ` : 'No policy: ', policy.reason),
    ),
    h('section', { 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Access timeline'),
      timeline.entries.length === 0
        ? h('p', {}, 'No change of access recorded.')
        : h('ol', { class: 'timeline' }, timeline.entries.map((e) =>
            h('li', {},
              h('time', { datetime: e.at }, when(e.at)),
              ' ',
              e.gained.length > 0 ? h('span', { class: 'gained' }, `gained ${e.gained.join(', ')}`) : '',
              e.gained.length > 0 && e.lost.length > 0 ? '; ' : '',
              e.lost.length > 0 ? h('span', { class: 'lost' }, `lost ${e.lost.join(', ')}`) : '',
              e.gained.length + e.lost.length === 0 ? 'no change of permissions' : '',
              ' — ', e.reason, ` (by ${e.actor.display ?? `${e.actor.type} ${e.actor.id}`})`,
            ))),
      timeline.nextCursor ? h('p', {}, 'Older changes are in the audit log.') : '',
    ),
  );
}
