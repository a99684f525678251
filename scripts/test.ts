import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareTemplates, type TestDialect } from '../test/helpers/db.js';
import { startCluster, type Cluster } from '../test/helpers/postgres-cluster.js';

// `npm test`: the whole tap suite on the embedded PGlite and on a real PostgreSQL server.
// The server is DATABASE_URL (or TEST_DATABASE_URL) when given, else a throwaway cluster started
// here and stopped at the end. Ends with the line "N passed, N failed".

interface Totals {
  pass: number;
  fail: number;
  skip: number;
}

/** The per-file limit: a file still running after this is killed and counted as failed. */
const FILE_TIMEOUT_MS = 300_000;
// Test files per dialect at a time. Three, on 2 cores: many files now wait on other processes
// (the CLI, servers, Chromium), and three kept the cores busier than two (5m17s against 6m20s,
// the same day); four was no faster (5m25s).
const JOBS_PER_DIALECT = Number(process.env.TEST_JOBS) || 3;

interface FileResult extends Totals {
  files: string[];
  output: string;
  seconds: number;
}

/** Where `npm test` compiled the tests (tsconfig.test.json): test/a.test.ts runs as .tmp/build/test/a.test.js. */
const BUILD_DIR = '.tmp/build';
const compiled = (file: string) => join(BUILD_DIR, file.replace(/\.ts$/, '.js'));

/**
 * Test files as one process: one file alone, or several light ones through scripts/run-files.ts.
 * A tap test file is a complete TAP program, so it runs under plain node: tap's runner would load
 * two module loaders of its own into every file (mock and process-info), which tripled the cost
 * of importing the app and cost the suite over a minute. It runs compiled (no TypeScript
 * loader), with source maps so that stacks name the .ts lines.
 */
function runFiles(files: string[], env: NodeJS.ProcessEnv): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const missing = files.find((file) => !existsSync(compiled(file)));
    if (missing) return resolve({ files, output: `# ${compiled(missing)} is missing: run the tests with npm test, which compiles them\n`, seconds: 0, pass: 0, fail: 1, skip: 0 });
    const timeoutMs = FILE_TIMEOUT_MS * files.length;
    const entry = files.length === 1 ? [compiled(files[0]!)] : [join(BUILD_DIR, 'scripts/run-files.js'), ...files.map(compiled)];
    const child = spawn(process.execPath, ['--enable-source-maps', ...entry], { env: { ...env, TAP_TIMEOUT: String(timeoutMs / 1000) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n# killed after ${timeoutMs / 1000} s\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // tap's last line at the root, e.g. "# { total: 12, pass: 11, fail: 1, skip: 0 }".
      const summary = [...output.matchAll(/^# \{ total: \d+(.*)\}$/gm)].pop()?.[1] ?? '';
      const count = (key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(summary)?.[1] ?? 0);
      const totals = { pass: count('pass'), fail: count('fail'), skip: count('skip') };
      if (code !== 0 && totals.fail === 0) totals.fail = 1; // a crash with no failing assertion still fails
      resolve({ files, output, seconds: (Date.now() - started) / 1000, ...totals });
    });
  });
}

interface Queue {
  dialect: TestDialect;
  files: string[];
  /** What runs, one process per entry: files, longest first, light ones several together. */
  batches?: string[][];
  totals: Totals;
}

// How long each file took last time, so the longest start first and the run does not end on one
// long file left alone on a core (longest-first packing). Unknown files count as long. A fresh
// clone starts from the committed seed (a run on this 2-core machine), so that its first run
// packs and batches as later ones do.
const TIMINGS_FILE = '.tmp/test-timings.json';
const TIMINGS_SEED = 'scripts/test-timings.seed.json';
type Timings = Record<string, number>;

function readTimings(): Timings {
  for (const file of [TIMINGS_FILE, TIMINGS_SEED]) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Timings;
    } catch {
      // the next
    }
  }
  return {};
}

// Files that took less than this last time (seconds, with the suite running around them) share a
// process with others, up to BATCH_SECONDS together: for them the start of a process (node, the
// app's imports, the first PGlite instance: 2-3 s of CPU) was a large part of their cost. A file
// that sets tap's snapshot file (one per process) always runs alone.
const LIGHT_SECONDS = 40;
const BATCH_SECONDS = 80;

function batches(queue: Queue, timings: Timings): string[][] {
  const time = (file: string) => timings[`${queue.dialect} ${file}`] ?? Infinity;
  const sorted = [...queue.files].sort((a, b) => time(b) - time(a) || (a < b ? -1 : 1));
  const out: string[][] = [];
  let open: { files: string[]; seconds: number } | undefined;
  for (const file of sorted) {
    const seconds = time(file);
    if (seconds >= LIGHT_SECONDS || readFileSync(file, 'utf8').includes('t.snapshotFile')) {
      out.push([file]);
      continue;
    }
    if (!open || open.seconds + seconds > BATCH_SECONDS) out.push((open = { files: [], seconds: 0 }).files);
    open.files.push(file);
    open.seconds += seconds;
  }
  return out;
}

/**
 * Runs every queue's batches, `jobs` at a time per dialect, printing a line per batch and a
 * failing batch whole. A worker whose dialect has nothing left takes the other dialect's next
 * batch, so neither run finishes alone on a core the other has left idle.
 */
async function runQueues(queues: Queue[], env: NodeJS.ProcessEnv, jobs: number): Promise<void> {
  const timings = readTimings();
  for (const queue of queues) queue.batches = batches(queue, timings);
  const worker = async (home: Queue) => {
    for (;;) {
      const queue = home.batches!.length > 0 ? home : queues.find((q) => q.batches!.length > 0);
      const files = queue?.batches!.shift();
      if (!queue || !files) return;
      const result = await runFiles(files, { ...env, TEST_DB: queue.dialect });
      // A batch's time is shared among its files as their last times were.
      const keys = files.map((file) => `${queue.dialect} ${file}`);
      const before = keys.map((key) => (Number.isFinite(timings[key]) ? timings[key]! : 1));
      const sum = before.reduce((a, b) => a + b, 0);
      keys.forEach((key, i) => (timings[key] = (result.seconds * before[i]!) / sum));
      queue.totals.pass += result.pass;
      queue.totals.fail += result.fail;
      queue.totals.skip += result.skip;
      const line = `${result.fail ? 'not ok' : 'ok'} - ${queue.dialect} ${files.join(' + ')} # ${result.pass} passed, ${result.fail} failed in ${result.seconds.toFixed(1)} s\n`;
      process.stdout.write(result.fail ? `${result.output}\n${line}` : line);
    }
  };
  await Promise.all(queues.flatMap((queue) => Array.from({ length: jobs }, () => worker(queue))));
  mkdirSync('.tmp', { recursive: true });
  writeFileSync(TIMINGS_FILE, JSON.stringify(timings, null, 1));
}

/**
 * The test files each dialect runs: every file that touches the database on each, and the files
 * marked `@dialect-independent` (pure code, HTTP framing, processes) once: on PostgreSQL when both
 * run, because the same files take PGlite about a quarter longer and it would finish last.
 */
function filesFor(dialect: TestDialect, dialects: readonly TestDialect[], args: string[]): string[] {
  if (args.length > 0) return args.map((f) => f.replace(/^\.\//, '')); // the caller named files
  const files = readdirSync('test', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join('test', f))
    .sort();
  const runsIndependent = dialect === 'postgres' || !dialects.includes('postgres');
  return files.filter((f) => runsIndependent || !readFileSync(f, 'utf8').includes('@dialect-independent'));
}

/**
 * tap builds its plugin set on first use after an install, and test files starting at once would
 * each build it, over each other: so it is built here, first — but only when tap or its plugin
 * configuration changed since the last build (the build costs about 5 s).
 */
function buildTapOnce(): void {
  const key = createHash('sha256')
    .update(readFileSync('node_modules/tap/package.json'))
    .update(JSON.stringify((JSON.parse(readFileSync('package.json', 'utf8')) as { tap?: unknown }).tap ?? null))
    .digest('hex');
  const stamp = 'node_modules/.cache/codex-scim-tap-build';
  if (existsSync('node_modules/@tapjs/test/test-built') && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return;
  if (spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error('tap build failed');
  mkdirSync('node_modules/.cache', { recursive: true });
  writeFileSync(stamp, key);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const only = process.env.TEST_DB as TestDialect | undefined;
  const dialects: TestDialect[] = only === 'pglite' || only === 'postgres' ? [only] : ['pglite', 'postgres'];
  let cluster: Cluster | undefined;
  const totals: Totals = { pass: 0, fail: 0, skip: 0 };
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL; // the app under test gets its database from the harness, never from here
    if (dialects.includes('postgres')) {
      let url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
      if (!url) {
        cluster = await startCluster();
        url = cluster.url;
        console.log(`# started PostgreSQL for the tests at ${url.replace(/\/\/[^@]*@/, '//')}`);
      }
      env.TEST_DATABASE_URL = url;
      process.env.TEST_DATABASE_URL = url;
    }
    for (const dialect of dialects) await prepareTemplates(dialect);
    buildTapOnce();
    // Both dialects run at once, JOBS_PER_DIALECT files at a time each: the scheduler packs the processes
    // (and PostgreSQL) onto the two cores, and one run's slow files overlap the other's.
    console.log(`# ---- test suite on ${dialects.join(' and ')} ----`);
    const results = dialects.map((dialect): Queue => ({ dialect, files: [...filesFor(dialect, dialects, args)], totals: { pass: 0, fail: 0, skip: 0 } }));
    await runQueues(results, env, JOBS_PER_DIALECT);
    results.forEach(({ totals: result }, i) => {
      totals.pass += result.pass;
      totals.fail += result.fail;
      totals.skip += result.skip;
      console.log(`# ${dialects[i]}: ${result.pass} passed, ${result.fail} failed`);
    });
  } finally {
    cluster?.stop();
  }
  console.log(`${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}`);
  return totals.fail === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
