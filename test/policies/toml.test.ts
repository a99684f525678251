// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import t from 'tap';
import { formatProblem, parsePolicyToml } from '../../src/policies/parse.js';
import { keyLines } from '../../src/policies/toml-lines.js';

// requirements.toml parsing and validation: every problem names its line and key.

const VALID = `# Managed requirements for engineering
allowed_approval_policies = ["untrusted", "on-request", { granular = { sandbox_approval = true, rules = false, mcp_elicitations = true } }]
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_web_search_modes = []
enforce_residency = "us"

[features]
web_search_request = false
unified_exec = true

[mcp_servers.docs]
identity = { command = "codex-mcp" }

[mcp_servers."internal wiki"]
identity = { url = "https://wiki.example.com/mcp" }

[rules]
prefix_rules = [
  { pattern = [{ token = "rm" }, { any_of = ["-rf", "-fr"] }], decision = "forbidden", justification = "Use git clean -fd instead." },
  { pattern = [{ token = "git" }, { token = "push" }], decision = "prompt", justification = "Pushing needs a human." },
]

[experimental_network]
enabled = true
http_port = 3128
domains = { "*.example.com" = "allow", "evil.example" = "deny" }
unix_sockets = { "/var/run/docker.sock" = "none" }
`;

function errorsOf(source: string) {
  const result = parsePolicyToml(source);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

t.test('a document using the documented keys parses clean, to JSON', async (t) => {
  const result = parsePolicyToml(VALID);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.warnings, []);
  t.same(result.parsed.allowed_sandbox_modes, ['read-only', 'workspace-write']);
  t.same((result.parsed.mcp_servers as any)['internal wiki'], { identity: { url: 'https://wiki.example.com/mcp' } });
  t.equal((result.parsed.rules as any).prefix_rules[0].pattern[1].any_of[1], '-fr');
  t.equal(JSON.stringify(JSON.parse(JSON.stringify(result.parsed))), JSON.stringify(result.parsed), 'plain JSON');
});

t.test('an empty document is a valid policy (no constraints)', async (t) => {
  t.same(parsePolicyToml(''), { ok: true, parsed: {}, warnings: [] });
});

t.test('invalid TOML: the line, the column and the key', async (t) => {
  const [syntax] = errorsOf('allowed_sandbox_modes = ["read-only"]\nallowed_web_search_modes = ["cached",\n  "live",,\n]\n');
  t.equal(syntax!.line, 3);
  t.equal(syntax!.key, 'allowed_web_search_modes', 'the key whose value spans the line');
  t.match(formatProblem(syntax!), /^invalid TOML at line 3, key allowed_web_search_modes: /);

  const [dup] = errorsOf('[features]\na = true\na = false\n');
  t.equal(dup!.line, 3);
  t.equal(dup!.key, 'features.a');

  const [unterminated] = errorsOf('enforce_residency = "us\n');
  t.equal(unterminated!.line, 1);
  t.equal(unterminated!.key, 'enforce_residency');

  const [header] = errorsOf('allowed_sandbox_modes = ["read-only"]\nallowed_approval_policies = ["untrusted"]\n\n[features\nweb_search = true\n');
  t.equal(header!.line, 4);
  t.equal(header!.key, 'features', 'an unclosed table header names its own table, not the key above it');
});

t.test('wrong values of documented keys: line and key of each', async (t) => {
  const errors = errorsOf(`allowed_approval_policies = ["on-request", "sometimes"]
allowed_sandbox_modes = ["workspace-write"]
allowed_web_search_modes = "live"

[features]
web_search_request = "yes"

[mcp_servers.docs]
identity = { command = "codex-mcp", url = "https://x" }

[mcp_servers.bare]
command = "x"

[[rules.prefix_rules]]
pattern = [{ token = "git" }]
decision = "allow"
justification = "fine"

[[rules.prefix_rules]]
pattern = [{ token = "rm", any_of = ["-rf"] }, {}]
decision = "forbidden"
justification = "  "

[[rules.prefix_rules]]
pattern = []

[experimental_network]
http_port = 70000
enabled = "true"
`);
  const byKey = Object.fromEntries(errors.map((e) => [e.key, e]));
  const expect = (key: string, line: number, message: RegExp) => {
    t.ok(byKey[key], `${key} reported`);
    t.equal(byKey[key]?.line, line, `${key} on line ${line}`);
    t.match(byKey[key]?.message, message, `${key} message`);
  };
  expect('allowed_approval_policies[1]', 1, /must be one of untrusted, on-failure, on-request, never, or an inline table/);
  expect('allowed_sandbox_modes', 2, /must include "read-only"/);
  expect('allowed_web_search_modes', 3, /must be an array, got a string/);
  expect('features.web_search_request', 6, /must be true or false/);
  expect('mcp_servers.docs.identity', 9, /exactly one of command or url/);
  expect('mcp_servers.bare.identity', 11, /is required/);
  expect('rules.prefix_rules[0].decision', 16, /must be one of prompt, forbidden, got "allow" \(Codex does not permit "allow"/);
  expect('rules.prefix_rules[1].pattern[0]', 20, /exactly one of token or any_of/);
  expect('rules.prefix_rules[1].pattern[1]', 20, /exactly one of token or any_of/);
  expect('rules.prefix_rules[1].justification', 22, /must not be empty/);
  expect('rules.prefix_rules[2].pattern', 25, /must not be empty/);
  expect('rules.prefix_rules[2].decision', 24, /is required/);
  expect('rules.prefix_rules[2].justification', 24, /is required/);
  expect('experimental_network.http_port', 28, /from 0 to 65535, got 70000/);
  expect('experimental_network.enabled', 29, /true or false/);
  t.same(
    errors.map((e) => e.line),
    [...errors.map((e) => e.line!)].sort((a, b) => a - b),
    'sorted by line',
  );
  t.match(formatProblem(byKey['features.web_search_request']!), /^line 6: features\.web_search_request must be true or false/);
  // The document is reported whole, with the unknown key among the warnings (mcp_servers.bare.command).
  const result = parsePolicyToml('[mcp_servers.bare]\ncommand = "x"\n');
  t.notOk(result.ok);
  t.match(result.warnings, [{ key: 'mcp_servers.bare.command', line: 2 }]);
});

t.test('unknown keys are accepted with a warning naming line and key', async (t) => {
  const result = parsePolicyToml(`allowed_sandbox_modes = ["read-only"]
future_codex_key = { enabled = true }

[rules]
prefix_rules = [{ pattern = [{ token = "curl" }], decision = "prompt", justification = "network", severity = "high" }]

[experimental_network]
brand_new_toggle = 1
`);
  t.ok(result.ok);
  t.same(
    result.warnings.map((w) => [w.line, w.key]),
    [
      [2, 'future_codex_key'],
      [5, 'rules.prefix_rules[0].severity'],
      [8, 'experimental_network.brand_new_toggle'],
    ],
  );
  t.match(result.warnings[0]!.message, /not a documented requirements\.toml key; accepted as is/);
});

t.test('experimental_network: canonical and legacy lists are not combined', async (t) => {
  const errors = errorsOf(`[experimental_network]
domains = { "a.com" = "allow" }
allowed_domains = ["b.com"]
unix_sockets = { "/tmp/s" = "allow" }
allow_unix_sockets = ["/tmp/t"]
`);
  t.same(
    errors.map((e) => [e.line, e.key]),
    [
      [2, 'experimental_network.domains'],
      [4, 'experimental_network.unix_sockets'],
    ],
  );
  t.match(errorsOf('[experimental_network]\ndomains = { "a.com" = "maybe" }\n'), [{ key: 'experimental_network.domains."a.com"', line: 2, message: /allow, deny/ }]);
});

t.test('key lines: headers, arrays of tables, dotted and quoted keys, multi-line values', async (t) => {
  const lines = keyLines(`a.b = 1
"quoted key" = 'x'
c = """
multi
line = not a key
"""
[t1]
d = [
  1,
  { e = 2 },
]
[[arr]]
f = 1
[[arr]]
f = 2
[arr.sub]
g = 3
[[arr.list]]
h = 4
`);
  t.equal(lines.get('a'), 1);
  t.equal(lines.get('a.b'), 1);
  t.equal(lines.get('"quoted key"'), 2);
  t.equal(lines.get('c'), 3);
  t.notOk(lines.has('line'), 'text inside a multi-line string is not a key');
  t.equal(lines.get('t1'), 7);
  t.equal(lines.get('t1.d[0]'), 9);
  t.equal(lines.get('t1.d[1].e'), 10);
  t.equal(lines.get('arr[0].f'), 13);
  t.equal(lines.get('arr[1].f'), 15);
  t.equal(lines.get('arr[1].sub.g'), 17);
  t.equal(lines.get('arr[1].list[0].h'), 19);
});

t.test('dates and special floats become JSON strings', async (t) => {
  const result = parsePolicyToml('x_since = 1979-05-27T07:32:00Z\nx_limit = inf\n');
  t.ok(result.ok);
  if (result.ok) t.same(result.parsed, { x_since: '1979-05-27T07:32:00.000Z', x_limit: 'Infinity' });
});
