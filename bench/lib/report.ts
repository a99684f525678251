import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchEnvironment } from './environment.js';
import type { LatencyStats } from './measure.js';

// Results as Markdown: each benchmark owns one marked section of bench/README.md and rewrites only
// that section, so the prose around it and the other benchmarks' results stay as they are.

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

export function ms(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  return `${value.toFixed(value < 10 ? Math.max(digits, 2) : digits)} ms`;
}

export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function bytes(value: number): string {
  if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${value} B`;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  // The first column names the case; the others are numbers, right-aligned.
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export function latencyCells(s: LatencyStats): string[] {
  return [num(s.n), ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max), num(s.rps, 0)];
}
export const LATENCY_HEADER = ['n', 'p50', 'p95', 'p99', 'max', 'req/s'];

/** Which code was measured: the commit, and whether src/ or migrations/ differed from it. */
export function codeLine(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' }).stdout.trim();
  const commit = git(['log', '-1', '--format=%h %s']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'migrations']);
  return `Code: commit \`${commit.split(' ')[0] ?? 'unknown'}\`${dirty ? ' plus uncommitted changes in src/ or migrations/ (work in progress of the other issues)' : ''}.`;
}

/** The line that says where and when the numbers were taken. */
export function machineLine(env: BenchEnvironment): string {
  const cpu = cpus();
  const s = env.pg.settings;
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, PostgreSQL ${env.pg.version} ` +
      `(shared_buffers ${s.shared_buffers}, work_mem ${s.work_mem}, fsync ${s.fsync}, synchronous_commit ${s.synchronous_commit}, full_page_writes ${s.full_page_writes}).`,
    'PostgreSQL, the app (its own process, pool of 10, SCIM rate limit off) and the load generator share the machine over loopback.',
    '`load` is the 1-minute load average when a measurement started (→ when it ended): above about 1 other processes were competing for the 2 cores, and the numbers are pessimistic.',
  ].join(' ');
}

/** Replaces (or appends) the section between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`. */
export function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const current = existsSync(README) ? readFileSync(README, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const next = start >= 0 && stop > start ? current.slice(0, start) + block + current.slice(stop + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(README, next);
}

/** Progress on stderr, so a redirected stdout stays clean. */
export function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
