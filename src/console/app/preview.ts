import { api, ApiError, type Call } from './api.js';
import { h, table } from './dom.js';

// Every edit is confirmed in a dialog that shows, before anything is written, what it would
// change: the API's dry run of the same request (?dryRun=true), totals and the first users.

interface Simulation {
  totals: { users: number; accessChangedUsers: number; policyChangedUsers: number; permissions: Array<{ key: string; gained: number; lost: number }>; policies: Array<{ name: string; gained: number; lost: number }> };
  users: Array<{ userName: string | null; userId: string; gained: string[]; lost: string[]; policyBefore: { name: string } | null; policyAfter: { name: string } | null; policyChanged: boolean }>;
  nextCursor: string | null;
}

const withDryRun = (path: string) => `${path}${path.includes('?') ? '&' : '?'}dryRun=true&limit=20`;

/** Shows the preview of `path`+`call` and makes the change when the admin confirms. Resolves true when made. */
export async function confirmChange(title: string, path: string, call: Call): Promise<boolean> {
  let simulation: Simulation;
  try {
    simulation = await api<Simulation>(withDryRun(path), call);
  } catch (error) {
    alertProblem(title, error);
    return false;
  }
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' });
  const t = simulation.totals;
  const summary =
    t.users === 0
      ? h('p', {}, "Nobody's access or policy changes.")
      : h('p', {}, `${t.accessChangedUsers} user(s) change permissions, ${t.policyChangedUsers} change policy.`);
  const apply = h('button', { type: 'button', class: 'primary' }, 'Apply change');
  const cancel = h('button', { type: 'button' }, 'Cancel');
  dialog.append(
    h('h2', { id: 'confirm-title' }, title),
    summary,
    t.permissions.length > 0 ? table('Per permission', ['Permission', 'Gained', 'Lost'], t.permissions.map((p) => [p.key, p.gained, p.lost])) : '',
    t.policies.length > 0 ? table('Per policy', ['Policy', 'Starts applying to', 'Stops applying to'], t.policies.map((p) => [p.name, p.gained, p.lost])) : '',
    simulation.users.length > 0
      ? table(
          simulation.nextCursor ? `The first ${simulation.users.length} affected users` : 'Affected users',
          ['User', 'Gains', 'Loses', 'Policy'],
          simulation.users.map((u) => [u.userName ?? u.userId, u.gained.join(', ') || '—', u.lost.join(', ') || '—', u.policyChanged ? `${u.policyBefore?.name ?? 'none'} → ${u.policyAfter?.name ?? 'none'}` : 'unchanged']),
        )
      : '',
    h('div', { class: 'actions' }, apply, cancel),
  );
  document.body.appendChild(dialog);
  dialog.showModal();
  const confirmed = await new Promise<boolean>((resolve) => {
    apply.addEventListener('click', () => resolve(true));
    cancel.addEventListener('click', () => resolve(false));
    dialog.addEventListener('cancel', () => resolve(false));
  });
  dialog.close();
  dialog.remove();
  if (!confirmed) return false;
  try {
    await api(path, call);
    return true;
  } catch (error) {
    alertProblem(title, error);
    return false;
  }
}

export function problemText(error: unknown): string {
  if (error instanceof ApiError) {
    const lines = (error.problem.errors ?? []).map((e) => (e.line ? `line ${e.line}${e.key ? ` (${e.key})` : ''}: ${e.detail}` : `${e.pointer}: ${e.detail}`));
    return [error.problem.detail, ...lines].join('\n');
  }
  return String(error);
}

function alertProblem(title: string, error: unknown): void {
  const region = document.getElementById('status');
  if (region) region.textContent = `${title}: ${problemText(error)}`;
}
