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
  file: string;
  output: string;
  seconds: number;
}

/** Where `npm test` compiled the tests (tsconfig.test.json): test/a.test.ts runs as .tmp/build/test/a.test.js. */
const BUILD_DIR = '.tmp/build';
const compiled = (file: string) => join(BUILD_DIR, file.replace(/\.ts$/, '.js'));

/**
 * One test file as its own process. A tap test file is a complete TAP program, so it runs under
 * plain node: tap's runner would load two module loaders of its own into every file (mock and
 * process-info), which tripled the cost of importing the app and cost the suite over a minute.
 * It runs compiled (no TypeScript loader), with source maps so that stacks name the .ts lines.
 */
function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    if (!existsSync(compiled(file))) return resolve({ file, output: `# ${compiled(file)} is missing: run the tests with npm test, which compiles them\n`, seconds: 0, pass: 0, fail: 1, skip: 0 });
    const child = spawn(process.execPath, ['--enable-source-maps', compiled(file)], { env: { ...env, TAP_TIMEOUT: String(FILE_TIMEOUT_MS / 1000) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n# killed after ${FILE_TIMEOUT_MS / 1000} s\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      // tap's last line at the root, e.g. "# { total: 12, pass: 11, fail: 1, skip: 0 }".
      const summary = [...output.matchAll(/^# \{ total: \d+(.*)\}$/gm)].pop()?.[1] ?? '';
      const count = (key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(summary)?.[1] ?? 0);
      const totals = { pass: count('pass'), fail: count('fail'), skip: count('skip') };
      if (code !== 0 && totals.fail === 0) totals.fail = 1; // a crash with no failing assertion still fails
      resolve({ file, output, seconds: (Date.now() - started) / 1000, ...totals });
    });
  });
}

interface Queue {
  dialect: TestDialect;
  files: string[];
  totals: Totals;
}

// How long each file took last time, so the longest start first and the run does not end on one
// long file left alone on a core (longest-first packing). Unknown files count as long.
const TIMINGS_FILE = '.tmp/test-timings.json';
type Timings = Record<string, number>;

function readTimings(): Timings {
  try {
    return JSON.parse(readFileSync(TIMINGS_FILE, 'utf8')) as Timings;
  } catch {
    return {};
  }
}

function longestFirst(queue: Queue, timings: Timings): void {
  const time = (file: string) => timings[`${queue.dialect} ${file}`] ?? Infinity;
  queue.files.sort((a, b) => time(b) - time(a) || (a < b ? -1 : 1));
}

/**
 * Runs every queue's files, `jobs` at a time per dialect, printing a line per file and a failing
 * file whole. A worker whose dialect has nothing left takes the other dialect's next file, so
 * neither run finishes alone on a core the other has left idle.
 */
async function runQueues(queues: Queue[], env: NodeJS.ProcessEnv, jobs: number): Promise<void> {
  const timings = readTimings();
  for (const queue of queues) longestFirst(queue, timings);
  const worker = async (home: Queue) => {
    for (;;) {
      const queue = home.files.length > 0 ? home : queues.find((q) => q.files.length > 0);
      const file = queue?.files.shift();
      if (!queue || !file) return;
      const result = await runFile(file, { ...env, TEST_DB: queue.dialect });
      timings[`${queue.dialect} ${file}`] = result.seconds;
      queue.totals.pass += result.pass;
      queue.totals.fail += result.fail;
      queue.totals.skip += result.skip;
      const line = `${result.fail ? 'not ok' : 'ok'} - ${queue.dialect} ${file} # ${result.pass} passed, ${result.fail} failed in ${result.seconds.toFixed(1)} s\n`;
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
