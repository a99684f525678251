import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { createDb, type Db, type DbHandle } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { startCluster, type Cluster } from '../../test/helpers/postgres-cluster.js';
import { BenchClient } from './http.js';

// One benchmark run: a throwaway PostgreSQL cluster on loopback, a migrated database with a
// workspace and a SCIM token, and the real app listening on 127.0.0.1 in a child process.
// Everything is torn down by close(), on SIGINT/SIGTERM, and by a hard deadline.

export interface PgInfo {
  version: string;
  settings: Record<string, string>;
}

export interface ServerStats {
  rss: number;
  peakRss: number;
  /** User + system CPU time of the app process since it started. */
  cpuMs: number;
  /** heapUsed right after a full garbage collection (NaN unless asked for). */
  heapAfterGc: number;
}

export interface BenchEnvironment {
  db: Db;
  databaseUrl: string;
  workspaceId: string;
  tokenId: string;
  baseUrl: string;
  scim: BenchClient;
  pg: PgInfo;
  durable: boolean;
  /**
   * Runs the operator CLI (`codex-scim …`, src/cli/index.ts) against the benchmark database with
   * the service's environment; returns stdout, throws with stderr when it fails.
   */
  cli(args: string[]): string;
  /** The service's environment variables (DATABASE_URL included). */
  serviceEnv: Record<string, string>;
  /** The server process's RSS now, its peak since the previous call, its CPU time so far, and (gc) its heap after a full GC. */
  serverStats(options?: { gc?: boolean }): Promise<ServerStats>;
  /** CPU time used so far by this cluster's PostgreSQL processes that are alive (postmaster and children). */
  pgCpuMs(): number;
  close(): Promise<void>;
}

export interface EnvironmentOptions {
  /**
   * Production durability (fsync, full_page_writes, synchronous_commit on). Off by default, as in
   * the test cluster: the numbers then show the work of the statements rather than this machine's
   * disk flush (about 5 ms per commit here), which every write would pay alike.
   */
  durable?: boolean;
  /** Hard limit on the whole run; the process exits non-zero when it is reached. */
  deadlineMs?: number;
  /** Environment variables of the service (and of the CLI, see cli()), e.g. ADMIN_JWT_SECRET. */
  serviceEnv?: Record<string, string>;
}

const APP_PROCESS = fileURLToPath(new URL('./app-process.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const PG_SETTINGS = ['shared_buffers', 'work_mem', 'fsync', 'synchronous_commit', 'full_page_writes', 'max_connections'];

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * startCluster() starts PostgreSQL with `-c fsync=off -c synchronous_commit=off -c
 * full_page_writes=off` on the command line, which outranks ALTER SYSTEM. For production
 * durability the same cluster is restarted with the same port and socket directory and without
 * those three options (pg_ctl restart -o replaces the remembered command line).
 */
async function durableRestart(admin: Db): Promise<() => void> {
  const value = async (setting: string) => (await sql<{ v: string }>`select current_setting(${setting}) as v`.execute(admin)).rows[0]!.v;
  const dataDir = await value('data_directory');
  const port = await value('port');
  const socketDir = await value('unix_socket_directories');
  const bin = spawnSync('sh', ['-c', 'command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1'], { encoding: 'utf8' }).stdout.trim();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const args = ['-D', dataDir, '-o', options, '-l', join(dataDir, '..', 'server.log'), '-m', 'fast', '-w', 'restart'];
  return () => {
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' });
    else execFileSync(bin, args, { stdio: 'pipe' });
  };
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process and its direct children (PostgreSQL backends), from /proc. */
function processTreeCpuMs(rootPid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    if (pid === rootPid || Number(fields[1]) === rootPid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

async function startAppProcess(serviceEnv: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = fork(APP_PROCESS, [JSON.stringify(serviceEnv)], { execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the app process did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`the app process exited with ${code} before listening`)));
    child.on('message', (m: { type: string; address?: string }) => {
      if (m.type === 'listening' && m.address) {
        clearTimeout(timer);
        resolve(m.address);
      }
    });
  });
  return { child, baseUrl };
}

export async function startEnvironment(name: string, options: EnvironmentOptions = {}): Promise<BenchEnvironment> {
  const durable = options.durable ?? false;
  const cluster: Cluster = await startCluster();
  let handle: DbHandle | undefined;
  let child: ChildProcess | undefined;
  let scim: BenchClient | undefined;
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    scim?.destroy();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.send({ type: 'close' });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await handle?.close().catch(() => undefined);
    cluster.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the benchmark cluster`);
    void close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = setTimeout(() => {
    console.error(`benchmark ${name} exceeded its ${Math.round((options.deadlineMs ?? 0) / 1000)} s deadline`);
    void close().finally(() => process.exit(1));
  }, options.deadlineMs ?? 30 * 60_000);

  try {
    const admin = await createDb({ databaseUrl: cluster.url, dataDir: '' });
    let restart: (() => void) | undefined;
    try {
      await sql.raw(`create database bench_${name.replace(/\W/g, '_')}`).execute(admin.db);
      if (durable) restart = await durableRestart(admin.db);
    } finally {
      await admin.close();
    }
    restart?.();
    const databaseUrl = withDatabase(cluster.url, `bench_${name.replace(/\W/g, '_')}`);
    handle = await createDb({ databaseUrl, dataDir: '' });
    const db = handle.db;
    await migrateToLatest(db);
    const { workspace } = await ensureWorkspace(db, 'bench');
    const { id: tokenId, token } = await createScimToken(db, { workspaceId: workspace.id, description: 'benchmark' }, { type: 'system', id: 'bench' });

    const version = (await sql<{ server_version: string }>`show server_version`.execute(db)).rows[0]!.server_version;
    const dataDirectory = (await sql<{ v: string }>`select current_setting('data_directory') as v`.execute(db)).rows[0]!.v;
    const postmasterPid = Number(readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const settings: Record<string, string> = {};
    for (const setting of PG_SETTINGS) {
      settings[setting] = (await sql<Record<string, string>>`select current_setting(${setting}) as value`.execute(db)).rows[0]!.value!;
    }

    const serviceEnv = { ...options.serviceEnv, DATABASE_URL: databaseUrl };
    const started = await startAppProcess(serviceEnv);
    child = started.child;
    scim = new BenchClient(started.baseUrl, token);
    const appProcess = child;

    return {
      db,
      databaseUrl,
      workspaceId: workspace.id,
      tokenId,
      baseUrl: started.baseUrl,
      scim,
      pg: { version, settings },
      durable,
      serviceEnv,
      cli: (args) => {
        const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...serviceEnv },
          timeout: 120_000,
        });
        if (result.status !== 0) throw new Error(`codex-scim ${args.join(' ')} exited with ${result.status}: ${(result.stderr || String(result.error ?? '')).trim()}`);
        return result.stdout;
      },
      pgCpuMs: () => processTreeCpuMs(postmasterPid),
      serverStats: (statsOptions = {}) =>
        new Promise((resolve) => {
          const onMessage = (m: ServerStats & { type: string }) => {
            if (m.type !== 'stats') return;
            appProcess.off('message', onMessage);
            resolve({ rss: m.rss, peakRss: m.peakRss, cpuMs: m.cpuMs, heapAfterGc: m.heapAfterGc });
          };
          appProcess.on('message', onMessage);
          appProcess.send({ type: 'stats', gc: statsOptions.gc ?? false });
        }),
      close: async () => {
        clearTimeout(deadline);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await close();
      },
    };
  } catch (error) {
    clearTimeout(deadline);
    await close();
    throw error;
  }
}

export interface CpuSplit {
  /** CPU time of the app process. */
  appMs: number;
  /** CPU time of PostgreSQL (postmaster and backends). */
  pgMs: number;
}

/** Runs `work` and reports the CPU time the app and PostgreSQL spent meanwhile. */
export async function withCpu<T>(env: BenchEnvironment, work: () => Promise<T>): Promise<{ result: T; cpu: CpuSplit }> {
  const app0 = (await env.serverStats()).cpuMs;
  const pg0 = env.pgCpuMs();
  const result = await work();
  const pg1 = env.pgCpuMs();
  const app1 = (await env.serverStats()).cpuMs;
  return { result, cpu: { appMs: app1 - app0, pgMs: pg1 - pg0 } };
}
