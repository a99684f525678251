// The documented keys of a Codex requirements.toml, as data, and the validator that walks a parsed
// document against them.
//
// Sources: Codex "Managed configuration" and the requirements.toml section of the "Configuration
// Reference" (developers.openai.com/codex), and the published Codex loader, which refuses a file
// whose known keys hold wrong values. Unknown keys are accepted with a warning: Codex adds keys
// every few months, and an admin must not be blocked from shipping one the bridge does not know.

import { formatPath, type PathSegment } from './toml-lines.js';

export interface Issue {
  path: PathSegment[];
  message: string;
}

export type Spec =
  | { kind: 'string'; enum?: readonly string[]; nonEmpty?: boolean; hint?: Record<string, string> }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'array'; items: Spec; nonEmpty?: boolean; check?: Check }
  /** A table with known fields; `entries` describes every other key (a map such as [features]). */
  | { kind: 'table'; fields?: Record<string, Field>; entries?: Spec; check?: Check }
  | { kind: 'oneOf'; options: Spec[]; describe: string }
  /** A documented key whose inner structure the bridge does not check (Codex does). */
  | { kind: 'any'; type?: 'table' | 'array' };

type Field = Spec & { required?: boolean };
type Check = (value: unknown, path: PathSegment[]) => Issue[];

// ---- value sets ----------------------------------------------------------------------------

export const APPROVAL_POLICIES = ['untrusted', 'on-failure', 'on-request', 'never'] as const;
export const APPROVALS_REVIEWERS = ['user', 'auto_review', 'guardian_subagent'] as const;
export const SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access', 'external-sandbox'] as const;
export const WEB_SEARCH_MODES = ['disabled', 'cached', 'live'] as const;
export const PREFIX_RULE_DECISIONS = ['prompt', 'forbidden'] as const;

const bool: Spec = { kind: 'boolean' };
const text: Spec = { kind: 'string', nonEmpty: true };
const port: Spec = { kind: 'integer', min: 0, max: 65535 };
const strings: Spec = { kind: 'array', items: text };

/** `{ granular = { sandbox_approval = true, … } }`: an approval policy with per-flow switches. */
const granularFlags: Spec = {
  kind: 'table',
  fields: { sandbox_approval: bool, rules: bool, skill_approval: bool, request_permissions: bool, mcp_elicitations: bool },
};
const approvalPolicy: Spec = {
  kind: 'oneOf',
  describe: `one of ${APPROVAL_POLICIES.join(', ')}, or an inline table { granular = { … } }`,
  options: [
    { kind: 'string', enum: APPROVAL_POLICIES },
    { kind: 'table', fields: { granular: { ...granularFlags, required: true } } },
    // Earlier Codex releases called the granular policy `reject`.
    { kind: 'table', fields: { reject: { ...granularFlags, required: true } } },
  ],
};

const sandboxModes: Spec = {
  kind: 'array',
  nonEmpty: true,
  items: { kind: 'string', enum: SANDBOX_MODES },
  // Codex refuses an allowlist without read-only: it is the mode it falls back to.
  check: (value, path) =>
    Array.isArray(value) && !value.includes('read-only') ? [{ path, message: 'must include "read-only" (the mode Codex falls back to)' }] : [],
};

/** [mcp_servers.<id>] identity: the server is enabled only when both its name and identity match. */
const mcpIdentity: Spec = {
  kind: 'table',
  fields: { command: text, url: text },
  check: (value, path) => {
    const v = value as Record<string, unknown>;
    const set = ['command', 'url'].filter((k) => v[k] !== undefined);
    return set.length === 1 ? [] : [{ path, message: 'must set exactly one of command or url' }];
  },
};
const mcpServers: Spec = { kind: 'table', entries: { kind: 'table', fields: { identity: { ...mcpIdentity, required: true } } } };

/** [[rules.prefix_rules]] pattern element: one token, or a set of alternatives. */
const patternToken: Spec = {
  kind: 'table',
  fields: { token: text, any_of: { kind: 'array', items: text, nonEmpty: true } },
  check: (value, path) => {
    const v = value as Record<string, unknown>;
    const set = ['token', 'any_of'].filter((k) => v[k] !== undefined);
    return set.length === 1 ? [] : [{ path, message: 'must set exactly one of token or any_of' }];
  },
};
const prefixRule: Spec = {
  kind: 'table',
  fields: {
    pattern: { kind: 'array', items: patternToken, nonEmpty: true, required: true },
    decision: {
      kind: 'string',
      enum: PREFIX_RULE_DECISIONS,
      required: true,
      // Codex merges requirement rules with the user's own and keeps the most restrictive result.
      hint: { allow: 'Codex does not permit "allow" in requirements.toml' },
    },
    justification: { kind: 'string', nonEmpty: true, required: true },
  },
};

const domainPermissions: Spec = { kind: 'table', entries: { kind: 'string', enum: ['allow', 'deny'] } };
const socketPermissions: Spec = { kind: 'table', entries: { kind: 'string', enum: ['allow', 'none'] } };

const experimentalNetwork: Spec = {
  kind: 'table',
  fields: {
    enabled: bool,
    http_port: port,
    socks_port: port,
    allow_upstream_proxy: bool,
    dangerously_allow_non_loopback_proxy: bool,
    dangerously_allow_all_unix_sockets: bool,
    domains: domainPermissions,
    allowed_domains: strings,
    denied_domains: strings,
    managed_allowed_domains_only: bool,
    unix_sockets: socketPermissions,
    allow_unix_sockets: strings,
    allow_local_binding: bool,
  },
  check: (value, path) => {
    const v = value as Record<string, unknown>;
    const issues: Issue[] = [];
    if (v.domains !== undefined && (v.allowed_domains !== undefined || v.denied_domains !== undefined)) {
      issues.push({ path: [...path, 'domains'], message: 'cannot be combined with the legacy allowed_domains / denied_domains lists' });
    }
    if (v.unix_sockets !== undefined && v.allow_unix_sockets !== undefined) {
      issues.push({ path: [...path, 'unix_sockets'], message: 'cannot be combined with the legacy allow_unix_sockets list' });
    }
    return issues;
  },
};

/** The top level of requirements.toml. */
export const REQUIREMENTS_SPEC: Spec = {
  kind: 'table',
  fields: {
    allowed_approval_policies: { kind: 'array', items: approvalPolicy, nonEmpty: true },
    allowed_approvals_reviewers: { kind: 'array', items: { kind: 'string', enum: APPROVALS_REVIEWERS }, nonEmpty: true },
    allowed_sandbox_modes: sandboxModes,
    // `disabled` is always allowed; an empty list allows only `disabled`.
    allowed_web_search_modes: { kind: 'array', items: { kind: 'string', enum: WEB_SEARCH_MODES } },
    allowed_permissions: strings,
    allowed_permission_profiles: { kind: 'table', entries: bool },
    default_permissions: text,
    remote_sandbox_config: {
      kind: 'array',
      items: { kind: 'table', fields: { hostname_patterns: { kind: 'array', items: text, nonEmpty: true, required: true }, allowed_sandbox_modes: { ...sandboxModes, required: true } } },
    },
    allow_managed_hooks_only: bool,
    allow_appshots: bool,
    allow_remote_control: bool,
    computer_use: { kind: 'table', fields: { allow_locked_computer_use: bool } },
    // Pins by the canonical feature names of config.toml's [features]; omitted keys stay free.
    features: { kind: 'table', entries: bool },
    hooks: { kind: 'any', type: 'table' },
    mcp_servers: mcpServers,
    plugins: { kind: 'table', entries: { kind: 'table', fields: { mcp_servers: mcpServers } } },
    apps: {
      kind: 'table',
      entries: {
        kind: 'table',
        fields: { enabled: bool, tools: { kind: 'table', entries: { kind: 'table', fields: { approval_mode: text } } } },
      },
    },
    rules: { kind: 'table', fields: { prefix_rules: { kind: 'array', items: prefixRule, nonEmpty: true, required: true } } },
    enforce_residency: { kind: 'string', enum: ['us'] },
    experimental_network: experimentalNetwork,
    permissions: { kind: 'table', fields: { filesystem: { kind: 'table', fields: { deny_read: strings } } }, entries: { kind: 'any', type: 'table' } },
    guardian_policy_config: { kind: 'string' },
  },
};

// ---- validator -----------------------------------------------------------------------------

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date || (typeof value === 'object' && value !== null && 'toISOString' in value)) return 'a date';
  if (typeof value === 'object' && value !== null) return 'a table';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a float';
  return `a ${typeof value}`;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeName(value) === 'a table';
}

export interface ValidationResult {
  errors: Issue[];
  warnings: Issue[];
}

/** Walks `value` against `spec`: wrong values are errors, unknown keys warnings. */
export function validate(value: unknown, spec: Spec = REQUIREMENTS_SPEC, path: PathSegment[] = []): ValidationResult {
  const result: ValidationResult = { errors: [], warnings: [] };
  walk(value, spec, path, result);
  return result;
}

function walk(value: unknown, spec: Spec, path: PathSegment[], out: ValidationResult): void {
  const fail = (message: string): void => {
    out.errors.push({ path, message });
  };
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return fail(`must be a string, got ${typeName(value)}`);
      if (spec.nonEmpty && value.trim() === '') return fail('must not be empty');
      if (spec.enum && !spec.enum.includes(value)) {
        return fail(`must be one of ${spec.enum.join(', ')}, got ${JSON.stringify(value)}${spec.hint?.[value] ? ` (${spec.hint[value]})` : ''}`);
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail(`must be true or false, got ${typeName(value)}`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail(`must be an integer, got ${typeName(value)}`);
      if (value < spec.min || value > spec.max) fail(`must be from ${spec.min} to ${spec.max}, got ${value}`);
      return;
    case 'array':
      if (!Array.isArray(value)) return fail(`must be an array, got ${typeName(value)}`);
      if (spec.nonEmpty && value.length === 0) return fail('must not be empty');
      value.forEach((item, i) => walk(item, spec.items, [...path, i], out));
      if (spec.check) out.errors.push(...spec.check(value, path));
      return;
    case 'table': {
      if (!isTable(value)) return fail(`must be a table, got ${typeName(value)}`);
      const fields = spec.fields ?? {};
      for (const [key, field] of Object.entries(fields)) {
        if (field.required && value[key] === undefined) out.errors.push({ path: [...path, key], message: 'is required' });
      }
      for (const [key, child] of Object.entries(value)) {
        const field = Object.hasOwn(fields, key) ? fields[key] : spec.entries;
        if (field) walk(child, field, [...path, key], out);
        else out.warnings.push({ path: [...path, key], message: 'is not a documented requirements.toml key; accepted as is' });
      }
      if (spec.check && out.errors.every((e) => !startsWith(e.path, path))) out.errors.push(...spec.check(value, path));
      return;
    }
    case 'oneOf': {
      for (const option of spec.options) {
        const trial = validate(value, option, path);
        if (trial.errors.length === 0) {
          out.warnings.push(...trial.warnings);
          return;
        }
      }
      return fail(`must be ${spec.describe}`);
    }
    case 'any':
      if (spec.type === 'table' && !isTable(value)) fail(`must be a table, got ${typeName(value)}`);
      if (spec.type === 'array' && !Array.isArray(value)) fail(`must be an array, got ${typeName(value)}`);
      return;
  }
}

function startsWith(path: PathSegment[], prefix: PathSegment[]): boolean {
  return prefix.every((segment, i) => path[i] === segment);
}

export function describeIssue(issue: Issue): string {
  return `${formatPath(issue.path) || '(document)'} ${issue.message}`;
}
