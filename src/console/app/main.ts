import { api, session, type Session } from './api.js';
import { h, show } from './dom.js';
import { completeSignIn, startSignIn, type OidcSettings } from './oidc.js';
import { problemText } from './preview.js';
import { auditPage } from './pages/audit.js';
import { groupPage, groupsPage } from './pages/groups.js';
import { healthPage } from './pages/health.js';
import { permissionPage, permissionsPage } from './pages/permissions.js';
import { policiesPage } from './pages/policies.js';
import { reviewPage, reviewsPage } from './pages/reviews.js';
import { rolesPage } from './pages/roles.js';
import { userPage, usersPage } from './pages/users.js';

// The console: sign-in, the layout, and a page per route of the URL's fragment (#/users/…).

export interface Page {
  main: HTMLElement;
  session: Session;
  /** Shows the route again (after an edit); resolves once it is shown. */
  refresh: () => Promise<void>;
}

type Render = (page: Page, ...params: string[]) => Promise<void>;

const ROUTES: Array<[RegExp, Render]> = [
  [/^\/?$/, usersPage],
  [/^\/users$/, usersPage],
  [/^\/users\/([^/]+)$/, userPage],
  [/^\/groups$/, groupsPage],
  [/^\/groups\/([^/]+)$/, groupPage],
  [/^\/permissions$/, permissionsPage],
  [/^\/permissions\/([^/]+)$/, permissionPage],
  [/^\/roles$/, rolesPage],
  [/^\/policies$/, policiesPage],
  [/^\/reviews$/, reviewsPage],
  [/^\/reviews\/([^/]+)$/, reviewPage],
  [/^\/audit$/, auditPage],
  [/^\/provisioning$/, healthPage],
];

const NAV: Array<[string, string]> = [
  ['#/users', 'Users'],
  ['#/groups', 'Groups'],
  ['#/permissions', 'Permissions'],
  ['#/roles', 'Roles and mappings'],
  ['#/policies', 'Policies'],
  ['#/reviews', 'Reviews'],
  ['#/audit', 'Audit'],
  ['#/provisioning', 'Provisioning health'],
];

const root = document.getElementById('app')!;

async function boot(): Promise<void> {
  const config = (await (await fetch('/console/config.json')).json()) as { oidc: OidcSettings | null };
  try {
    await completeSignIn(config.oidc);
  } catch (error) {
    return signInPage(config.oidc, String((error as Error).message));
  }
  if (!session.token()) return signInPage(config.oidc);
  let current: Session;
  try {
    current = await api<Session>('/session');
  } catch (error) {
    session.signOut();
    return signInPage(config.oidc, problemText(error));
  }
  layout(current);
}

function signInPage(oidc: OidcSettings | null, message?: string): void {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Codex access console'),
    message ? h('p', { role: 'alert', class: 'error' }, message) : '',
    h('label', { for: 'token' }, 'Admin token'),
    input,
    h('p', { class: 'hint' }, 'An admin token from `codex-scim token create --scope admin`. It is kept in this tab only, until you sign out or close it.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    oidc ? h('p', {}, h('button', { type: 'button', id: 'oidc', onclick: () => void startSignIn(oidc) }, 'Sign in with your identity provider')) : '',
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    session.signIn(input.value.trim());
    location.hash = '#/users';
    void boot();
  });
  show(root, h('main', { id: 'main' }, form));
  input.focus();
}

function layout(current: Session): void {
  const main = h('main', { id: 'main', tabindex: '-1' });
  const nav = h('nav', { 'aria-label': 'Console' }, h('ul', {}, NAV.map(([href, label]) => h('li', {}, h('a', { href }, label)))));
  const signOut = h('button', { type: 'button', onclick: () => { session.signOut(); location.hash = '#/'; location.reload(); } }, 'Sign out');
  show(
    root,
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('header', {}, h('span', { class: 'brand' }, 'Codex access'), nav, h('span', { class: 'who' }, `${current.display ?? 'signed in'} · ${current.role}`), signOut),
    h('p', { id: 'status', role: 'status', 'aria-live': 'polite' }),
    main,
  );
  const route = async () => {
    const path = location.hash.replace(/^#/, '').split('?')[0] ?? '';
    for (const link of nav.querySelectorAll('a')) link.toggleAttribute('aria-current', path.startsWith(link.getAttribute('href')!.slice(1)));
    const match = ROUTES.find(([pattern]) => pattern.test(path));
    const page: Page = { main, session: current, refresh: route };
    document.getElementById('status')!.textContent = '';
    if (!match) return show(main, h('h1', {}, 'Not found'));
    show(main, h('p', { class: 'loading' }, 'Loading…'));
    try {
      await match[1](page, ...(match[0].exec(path)!.slice(1).map(decodeURIComponent)));
    } catch (error) {
      show(main, h('h1', {}, 'Something went wrong'), h('p', { role: 'alert', class: 'error' }, problemText(error)));
    }
  };
  // Buttons and forms run async handlers nobody awaits: a failure they do not handle is shown here.
  window.addEventListener('unhandledrejection', (event) => {
    document.getElementById('status')!.textContent = problemText(event.reason);
  });
  window.addEventListener('hashchange', () => void route());
  void route();
}

void boot();
