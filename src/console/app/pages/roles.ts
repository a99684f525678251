import { all, canEdit, enc } from '../api.js';
import { h, show, table } from '../dom.js';
import type { Page } from '../main.js';
import { confirmChange } from '../preview.js';

// Roles and mappings: readable by all; owner and codex-admin change them, each change confirmed
// with the preview of its effect.

interface Role {
  id: string;
  name: string;
  description: string;
  permissions: Record<string, 'allow' | 'deny'>;
  isDefault: boolean;
}

interface Mapping {
  id: string;
  roleId: string;
  roleName: string;
  group: { by: string; value: string };
  matchedGroups: Array<{ id: string; displayName: string }>;
}

export async function rolesPage(page: Page): Promise<void> {
  const [roles, mappings, permissions] = await Promise.all([all<Role>('/roles'), all<Mapping>('/mappings'), all<{ key: string }>('/permissions')]);
  const editable = canEdit(page.session);
  const effects = (role: Role) => Object.entries(role.permissions).map(([key, effect]) => `${key}: ${effect}`).join(', ') || 'inherits every baseline';
  show(
    page.main,
    h('h1', {}, 'Roles and mappings'),
    table('Roles', ['Role', 'Permissions', 'Description'], roles.map((r) => [r.isDefault ? `${r.name} (default role)` : r.name, effects(r), r.description])),
    editable ? roleEditor(page, roles, permissions.map((p) => p.key)) : '',
    table(
      'Mappings: IdP groups to roles',
      editable ? ['Group', 'Role', 'Matches', 'Change'] : ['Group', 'Role', 'Matches'],
      mappings.map((m) => [
        `${m.group.value} (by ${m.group.by})`,
        m.roleName,
        m.matchedGroups.map((g) => g.displayName).join(', ') || 'no group yet',
        ...(editable ? [h('button', { type: 'button', onclick: async () => (await confirmChange(`Delete the mapping of ${m.group.value} to ${m.roleName}`, `/mappings/${enc(m.id)}`, { method: 'DELETE' })) && void page.refresh() }, 'Delete…')] : []),
      ]),
    ),
    editable ? mappingEditor(page, roles) : '',
  );
}

function select(id: string, options: Array<[string, string]>): HTMLSelectElement {
  return h('select', { id, name: id }, options.map(([value, label]) => h('option', { value }, label)));
}

function roleEditor(page: Page, roles: Role[], keys: string[]): HTMLElement {
  const role = select('edit-role', roles.map((r) => [r.id, r.name]));
  const permission = select('edit-permission', keys.map((k) => [k, k]));
  const effect = select('edit-effect', [['allow', 'allow'], ['deny', 'deny'], ['inherit', 'inherit (the baseline)']]);
  const form = h(
    'form',
    { class: 'editor', 'aria-labelledby': 'role-editor-title' },
    h('h2', { id: 'role-editor-title' }, 'Change a role'),
    h('label', { for: 'edit-role' }, 'Role'), role,
    h('label', { for: 'edit-permission' }, 'Permission'), permission,
    h('label', { for: 'edit-effect' }, 'Effect'), effect,
    h('button', { type: 'submit' }, 'Preview change…'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = roles.find((r) => r.id === role.value)?.name ?? role.value;
    if (await confirmChange(`Set ${permission.value} to ${effect.value} on ${name}`, `/roles/${enc(role.value)}`, { method: 'PATCH', body: { permissions: { [permission.value]: effect.value } } })) void page.refresh();
  });
  return form;
}

function mappingEditor(page: Page, roles: Role[]): HTMLElement {
  const role = select('map-role', roles.map((r) => [r.id, r.name]));
  const group = h('input', { id: 'map-group', name: 'group', required: true, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'editor', 'aria-labelledby': 'mapping-editor-title' },
    h('h2', { id: 'mapping-editor-title' }, 'Map a group to a role'),
    h('label', { for: 'map-group' }, 'Group displayName (as the IdP names it)'), group,
    h('label', { for: 'map-role' }, 'Role'), role,
    h('button', { type: 'submit' }, 'Preview mapping…'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await confirmChange(`Map ${group.value} to a role`, '/mappings', { method: 'POST', body: { roleId: role.value, groupDisplayName: group.value.trim() } })) void page.refresh();
  });
  return form;
}
