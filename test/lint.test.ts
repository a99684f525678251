// @dialect-independent
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { ESLint } from 'eslint';
import t from 'tap';

// The code's habits, checked in `npm test` like its behaviour: typescript-eslint's rules
// (eslint.config.js) and knip's unused files, exports and dependencies (knip.json). Each file or
// finding that fails is named with what to change.

t.test('eslint finds nothing in the repository', async (t) => {
  // Cached by content in .tmp/ (about 40 s of CPU otherwise): a fresh clone, as CI runs, lints
  // everything; a local run re-lints changed files only, so a type-aware finding in an unchanged
  // file that a change elsewhere caused shows in CI first.
  const results = await new ESLint({ cwd: process.cwd(), cache: true, cacheLocation: '.tmp/eslint-cache', cacheStrategy: 'content' }).lintFiles(['.']);
  t.ok(results.length > 100, `eslint read the sources (${results.length} files)`);
  const failing = results.filter((r) => r.messages.length > 0);
  for (const result of failing) {
    const problems = result.messages.map((m) => `${m.line}:${m.column} ${m.message} (${m.ruleId ?? 'parser'})`);
    t.fail(`${relative(process.cwd(), result.filePath)}\n  ${problems.join('\n  ')}`);
  }
  t.equal(failing.length, 0, 'files with lint problems');
});

interface KnipIssue {
  file: string;
  [kind: string]: unknown;
}

t.test('knip finds no unused files, exports or dependencies', async (t) => {
  const run = spawnSync(process.execPath, ['node_modules/knip/bin/knip.js', '--reporter', 'json', '--no-progress'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  t.not(run.stdout.trim(), '', `knip answered (exit ${run.status}; ${run.stderr.trim().slice(0, 500)})`);
  const report = JSON.parse(run.stdout || '{"issues":[]}') as { issues: KnipIssue[] };
  const findings = report.issues.flatMap((issue) =>
    Object.entries(issue)
      .filter(([kind, value]) => kind !== 'file' && Array.isArray(value) && value.length > 0)
      .map(([kind, value]) => `${issue.file}: ${kind} ${(value as Array<{ name: string }>).map((v) => v.name).join(', ')}`),
  );
  for (const finding of findings) t.fail(finding);
  t.equal(findings.length, 0, 'knip findings');
  t.equal(run.status, 0, 'knip exits 0');
});
