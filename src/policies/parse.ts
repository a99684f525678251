import { parse, TomlDate, TomlError } from 'smol-toml';
import { describeIssue, REQUIREMENTS_SPEC, validate, type Issue, type Spec } from './requirements.js';
import { formatPath, keyLines, lineOf } from './toml-lines.js';

// A policy's TOML text → the parsed document, or errors that name the line and the key.

export interface PolicyProblem {
  /** 1-based line in the TOML text; undefined when the problem is the document as a whole. */
  line?: number;
  column?: number;
  /** Dotted key path (`rules.prefix_rules[0].decision`); undefined when it cannot be told. */
  key?: string;
  message: string;
}

export type ParsedPolicy = Record<string, unknown>;

export type PolicyParseResult =
  | { ok: true; parsed: ParsedPolicy; warnings: PolicyProblem[] }
  | { ok: false; errors: PolicyProblem[]; warnings: PolicyProblem[] };

/** TOML values → JSON values (dates become their TOML text), for the jsonb column and responses. */
function toJson(value: unknown): unknown {
  if (value instanceof TomlDate) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // inf, nan
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?/;
const UNCLOSED_HEADER = /^\s*\[\[?\s*([A-Za-z0-9_.\-"']+)/;
const ASSIGNMENT = /^\s*([A-Za-z0-9_\-"'][A-Za-z0-9_.\-"' ]*?)\s*=/;

/**
 * The key a syntax error belongs to, for the message: the assignment on that line or, inside a
 * multi-line array or string, the nearest one above it, qualified by its table header. A guess
 * (the document did not parse), so the message gives it next to the line, which is exact.
 */
function keyNear(source: string, line: number): string | undefined {
  const lines = source.split('\n');
  // A broken table header (`[features` with no `]`) is its own line's problem, not the key above it.
  const opened = UNCLOSED_HEADER.exec(lines[line - 1] ?? '');
  if (opened && !HEADER.test(lines[line - 1]!)) return opened[1];
  let key: string | undefined;
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const text = lines[i]!;
    const header = HEADER.exec(text);
    if (header) return key ? `${header[1]}.${key}` : header[1];
    key ??= ASSIGNMENT.exec(text)?.[1]?.trim();
  }
  return key;
}

function problem(lines: Map<string, number>, issue: Issue): PolicyProblem {
  return { line: lineOf(lines, issue.path), key: formatPath(issue.path) || undefined, message: describeIssue(issue) };
}

export function parsePolicyToml(source: string, spec: Spec = REQUIREMENTS_SPEC): PolicyParseResult {
  let document: Record<string, unknown>;
  try {
    document = parse(source);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const key = keyNear(source, error.line);
    // smol-toml's message is "Invalid TOML document: <reason>\n\n<code block>"; keep the reason.
    const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
    const where = key ? `line ${error.line}, key ${key}` : `line ${error.line}`;
    return { ok: false, errors: [{ line: error.line, column: error.column, key, message: `invalid TOML at ${where}: ${reason}` }], warnings: [] };
  }
  const { errors, warnings } = validate(document, spec);
  const lines = errors.length + warnings.length > 0 ? keyLines(source) : new Map<string, number>();
  const byLine = (a: PolicyProblem, b: PolicyProblem) => (a.line ?? 0) - (b.line ?? 0);
  const warningProblems = warnings.map((w) => problem(lines, w)).sort(byLine);
  if (errors.length > 0) return { ok: false, errors: errors.map((e) => problem(lines, e)).sort(byLine), warnings: warningProblems };
  return { ok: true, parsed: toJson(document) as ParsedPolicy, warnings: warningProblems };
}

/** "line 4, key allowed_sandbox_modes[1]: …" — one line per problem, for error details. */
export function formatProblem(p: PolicyProblem): string {
  if (p.message.startsWith('invalid TOML')) return p.message;
  return p.line === undefined ? p.message : `line ${p.line}: ${p.message}`;
}
