import { api, canEdit, enc } from '../api.js';
import { h, show, table } from '../dom.js';
import type { Page } from '../main.js';
import { confirmChange, problemText } from '../preview.js';

// Policies: the rules in order, the fallback, lookup of what applies to someone, and each
// policy's requirements.toml with the validation messages it has (editable by owner and
// codex-admin, saved after the preview of who it reaches).

interface Assignment {
  version: number;
  rules: Array<{ position: number; groupName: string; groupDeleted: boolean; policy: { id: string; name: string; version: number } }>;
  fallback: { id: string; name: string } | null;
}

interface PolicyDoc {
  policy: { id: string; name: string; description: string; currentVersion: number };
  document: { version: number; toml: string; warnings: Array<{ line?: number; detail: string }> | string[] };
}

export async function policiesPage(page: Page): Promise<void> {
  const [assignment, list] = await Promise.all([api<Assignment>('/policy-rules'), api<{ items: Array<{ id: string }> }>('/policies?limit=100')]);
  const documents = await Promise.all(list.items.map((p) => api<PolicyDoc>(`/policies/${enc(p.id)}`)));
  const lookup = h('input', { id: 'policy-lookup', type: 'search', autocomplete: 'off' });
  const answer = h('p', { id: 'policy-answer', role: 'status' });
  const lookupForm = h('form', { role: 'search', class: 'search' }, h('label', { for: 'policy-lookup' }, 'Which policy applies to (email or userName)'), lookup, h('button', { type: 'submit' }, 'Look up'), answer);
  lookupForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const found = await api<{ policy: { name: string; version: number } | null; reason: string }>(`/users/${enc(lookup.value.trim())}/policy`);
      answer.textContent = `${found.policy ? `${found.policy.name} (version ${found.policy.version})` : 'No policy'}: ${found.reason}`;
    } catch (error) {
      answer.textContent = problemText(error);
    }
  });
  show(
    page.main,
    h('h1', {}, 'Managed policies'),
    table('Rules, first match wins', ['#', 'Group', 'Policy'], assignment.rules.map((r) => [r.position, r.groupDeleted ? `${r.groupName} (deleted)` : r.groupName, `${r.policy.name} v${r.policy.version}`])),
    h('p', {}, `Fallback, for users no rule matches: ${assignment.fallback?.name ?? 'none'}`),
    lookupForm,
    documents.map((doc) => policySection(page, doc)),
  );
}

function policySection(page: Page, doc: PolicyDoc): HTMLElement {
  const id = `toml-${doc.policy.id}`;
  const warnings = doc.document.warnings.map((w) => (typeof w === 'string' ? w : `${w.line ? `line ${w.line}: ` : ''}${w.detail}`));
  const section = h(
    'section',
    { 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, `${doc.policy.name} (version ${doc.document.version})`),
    doc.policy.description ? h('p', {}, doc.policy.description) : '',
    warnings.length > 0 ? h('ul', { class: 'warnings' }, warnings.map((w) => h('li', {}, w))) : '',
  );
  if (!canEdit(page.session)) {
    section.append(h('pre', { class: 'toml', tabindex: '0', 'aria-label': `${doc.policy.name} requirements.toml` }, doc.document.toml));
    return section;
  }
  const editor = h('textarea', { id, rows: 12, cols: 80, spellcheck: 'false' });
  editor.value = doc.document.toml;
  const messages = h('div', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'editor' }, h('label', { for: id }, 'requirements.toml'), editor, messages, h('button', { type: 'submit' }, 'Preview and save…'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    messages.textContent = '';
    // If-Match: the version this page showed, so an edit made meanwhile by someone else is not overwritten (412).
    const saved = await confirmChange(`Save ${doc.policy.name}`, `/policies/${enc(doc.policy.id)}`, { method: 'PATCH', body: { toml: editor.value }, headers: { "if-match": `"${doc.policy.currentVersion}"` } });
    if (saved) void page.refresh();
    else messages.textContent = document.getElementById('status')?.textContent ?? '';
  });
  section.append(form);
  return section;
}
