import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import type { TestApp } from '../helpers/app.js';
import { fromRoot } from '../helpers/paths.js';

// Replays recorded IdP traffic (request/response pairs in JSON fixtures, one folder per IdP).
// `${name}` in a request is replaced by a value captured from an earlier response; the expected
// response body is matched as a subset (tap's t.match), so server-assigned values need not be fixed.

export interface ReplayStep {
  name: string;
  request: { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string; body?: unknown; headers?: Record<string, string> };
  response: { status: number; body?: unknown; headers?: Record<string, string> };
  /** variable name → dotted path into the response JSON (e.g. "id", "Resources.0.id"). */
  capture?: Record<string, string>;
}


function substitute(value: unknown, vars: Record<string, string>): unknown {
  return JSON.parse(JSON.stringify(value ?? null).replace(/\$\{(\w+)\}/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`fixture uses \${${name}} before capturing it`);
    return vars[name]!;
  }));
}

function at(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], object);
}

export function loadSteps(file: string): ReplayStep[] {
  return JSON.parse(readFileSync(fromRoot('test/idp', file), 'utf8')) as ReplayStep[];
}

export async function replay(t: Test, app: TestApp, steps: ReplayStep[]): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const step of steps) {
    const path = substitute(step.request.path, vars) as string;
    const body = step.request.body === undefined ? undefined : substitute(step.request.body, vars);
    const response = await app.scim(step.request.method, path, body, step.request.headers);
    const detail = response.statusCode === step.response.status ? '' : ` (${response.body.slice(0, 300)})`;
    t.equal(response.statusCode, step.response.status, `${step.name}: status${detail}`);
    const json = response.body ? (JSON.parse(response.body) as unknown) : undefined;
    if (step.response.body !== undefined) t.match(json, substitute(step.response.body, vars), `${step.name}: body`);
    for (const [header, expected] of Object.entries(step.response.headers ?? {})) {
      t.match(response.headers[header.toLowerCase()], substitute(expected, vars), `${step.name}: ${header} header`);
    }
    for (const [name, path] of Object.entries(step.capture ?? {})) vars[name] = String(at(json, path));
  }
  return vars;
}
