import { api, canAudit, download, enc, q } from '../api.js';
import { h, show, table, when } from '../dom.js';
import type { Page } from '../main.js';

// Audit (owner and compliance): events with filters, whether the log verifies, and the hourly
// JSONL export files to download.

interface AuditEvent {
  id: string;
  seq: number;
  occurredAt: string;
  type: string;
  actor: { type: string; id: string; display?: string | null };
  target: { type: string; id: string };
  data: Record<string, unknown>;
}

export async function auditPage(page: Page): Promise<void> {
  if (!canAudit(page.session)) {
    show(page.main, h('h1', {}, 'Audit'), h('p', {}, "The audit log is for owners and compliance. A user's and a group's own history are on their pages."));
    return;
  }
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const field = (name: string, label: string, type = 'text') => [h('label', { for: `audit-${name}` }, label), h('input', { id: `audit-${name}`, name, type, value: params.get(name) ?? '', autocomplete: 'off' })];
  const form = h('form', { class: 'filters', 'aria-label': 'Filter events' }, field('type', 'Event type (comma-separated, e.g. access.changed)'), field('actor', 'Actor id'), field('from', 'From (RFC 3339)'), field('to', 'To (RFC 3339)'), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const field = (name: string) => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    };
    location.hash = `#/audit${q({ type: field('type'), actor: field('actor'), from: field('from'), to: field('to') })}`;
  });
  const filters = { type: params.get('type'), actor: params.get('actor'), from: params.get('from'), to: params.get('to') };
  const [events, verify, exports] = await Promise.all([
    api<{ items: AuditEvent[]; nextCursor: string | null }>(`/audit/events${q({ ...filters, order: 'desc', limit: 100 })}`),
    api<{ ok: boolean; checked: number; tree: { size: number; rootHash: string; signed: boolean }; firstBroken: { seq: number; reason: string } | null }>('/audit/verify'),
    api<{ files: Array<{ id: string; start: string; end: string; events: number; complete: boolean }> }>('/audit/exports?limit=24&includeIncomplete=true'),
  ]);
  show(
    page.main,
    h('h1', {}, 'Audit'),
    h('p', { class: verify.ok ? 'ok' : 'error' }, verify.ok ? `The log verifies: ${verify.checked} events checked, tree of ${verify.tree.size} (${verify.tree.signed ? 'signed' : 'unsigned'} head ${verify.tree.rootHash.slice(0, 16)}…).` : `The log does NOT verify: first broken at seq ${verify.firstBroken?.seq} (${verify.firstBroken?.reason}).`),
    form,
    table('Events, newest first', ['When', 'Event', 'Target', 'Actor'], events.items.map((e) => [when(e.occurredAt), e.type, `${e.target.type} ${e.target.id}`, e.actor.display ?? `${e.actor.type} ${e.actor.id}`])),
    h('h2', {}, 'Exports'),
    table('Hourly export files (JSONL)', ['Hour', 'Events', 'Download'], exports.files.map((f) => [when(f.start), f.events, h('button', { type: 'button', onclick: () => void download(`/audit/exports/${enc(f.id)}`, f.id) }, `Download ${f.id}`)])),
  );
}
