// The admin API as the console calls it: the signed-in token from sessionStorage (never a URL or a
// cookie), JSON in and out, RFC 9457 problems as ApiError.

const TOKEN_KEY = 'codex-scim-console-token';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ pointer: string; detail: string; line?: number; key?: string }>;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

export interface Call {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls /api/v1{path}; a 401 signs out, since the token is no longer good. */
export async function raw(path: string, call: Call = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, { method: call.method ?? 'GET', headers, body: call.body === undefined ? undefined : JSON.stringify(call.body) });
  if (res.status === 401) {
    session.signOut();
    location.hash = '#/';
    location.reload();
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({ status: res.status, detail: res.statusText }))) as Problem;
    throw new ApiError({ ...problem, status: res.status });
  }
  return res;
}

export async function api<T = unknown>(path: string, call: Call = {}): Promise<T> {
  const res = await raw(path, call);
  return (res.status === 204 ? null : await res.json()) as T;
}

/** Every item of a paged list, following nextCursor (the catalogue, roles and mappings are short). */
export async function all<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: { items: T[]; nextCursor: string | null } = await api(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export const q = (params: Record<string, string | number | undefined | null>): string => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '') as Array<[string, string | number]>;
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
};

export const enc = encodeURIComponent;

export interface Session {
  role: 'owner' | 'codex-admin' | 'compliance';
  workspaceId: string;
  via: 'token' | 'oidc';
  display: string | null;
  /** Who the caller is to a review campaign: user:<id> or token:<id>. */
  principal: string;
}

/** Downloads through fetch: the token travels in a header, never in a link. */
export async function download(path: string, file: string): Promise<void> {
  const res = await raw(path);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

/** owner and codex-admin change the access model and policies; compliance only reads. */
export const canEdit = (s: Session): boolean => s.role === 'owner' || s.role === 'codex-admin';
export const canAudit = (s: Session): boolean => s.role === 'owner' || s.role === 'compliance';
