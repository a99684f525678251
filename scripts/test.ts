import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * One tap run on one dialect. `live` output streams as it comes; otherwise it is held and printed
 * whole when the run ends, so two concurrent runs never interleave their lines.
 */
function runTap(dialect: TestDialect, env: NodeJS.ProcessEnv, args: string[], live: boolean): Promise<Totals & { code: number }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tap', '--reporter=tap', ...args], { env: { ...env, TEST_DB: dialect }, stdio: ['ignore', 'pipe', 'inherit'] });
    const totals: Totals = { pass: 0, fail: 0, skip: 0 };
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (live) process.stdout.write(chunk);
      buffer += chunk.toString();
    });
    child.on('close', (code) => {
      if (!live) process.stdout.write(buffer);
      // tap's last summary comment, e.g. "# { total: 12, pass: 11, fail: 1, skip: 0 }".
      const summary = [...buffer.matchAll(/^# \{ total: \d+(.*)\}$/gm)].pop()?.[1] ?? '';
      for (const key of ['pass', 'fail', 'skip'] as const) {
        totals[key] = Number(new RegExp(`${key}: (\\d+)`).exec(summary)?.[1] ?? 0);
      }
      if (code !== 0 && totals.fail === 0) totals.fail = 1; // a crash with no failing assertion still fails
      resolve({ ...totals, code: code ?? 1 });
    });
  });
}

/**
 * The test files each dialect runs: all of them on the first, and on the others all but those
 * marked `@dialect-independent` (pure code, the OpenAPI document), which would only repeat.
 */
function filesFor(dialectIndex: number, args: string[]): string[] {
  if (args.some((a) => !a.startsWith('-'))) return args; // the caller named files
  const files = readdirSync('test', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join('test', f))
    .sort();
  const kept = dialectIndex === 0 ? files : files.filter((f) => !readFileSync(f, 'utf8').includes('@dialect-independent'));
  return [...args, ...kept];
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
    // tap builds its plugin set on first use after an install; two runs starting at once would
    // both build it, over each other.
    if (spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error('tap build failed');
    // Both dialects run at once: each run's slowest files overlap the other's instead of leaving a
    // core idle at its end. Two workers each: the scheduler packs four processes onto the two cores.
    console.log(`# ---- test suite on ${dialects.join(' and ')} ----`);
    const results = await Promise.all(dialects.map((dialect, i) => runTap(dialect, env, ['--jobs=2', ...filesFor(i, args)], i === 0)));
    results.forEach((result, i) => {
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
