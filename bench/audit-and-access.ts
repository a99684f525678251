import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from '../src/db/index.js';
import { sealPending } from '../src/audit/sealer.js';
import { listSealedEvents } from '../src/repositories/audit.repository.js';
import { verifyAuditLog } from '../src/services/audit-verify.service.js';
import { replaceGroup } from '../src/services/groups.service.js';
import { isMain, parseOptions, type BenchOptions } from './lib/cli.js';
import { capture, printPlans, statementTable } from './lib/explain.js';
import { startEnvironment, withCpu, type BenchEnvironment, type CpuSplit } from './lib/environment.js';
import { BenchClient } from './lib/http.js';
import { median, sequential, timed, type LatencyStats } from './lib/measure.js';
import { interleavedMemberPatches } from './lib/membership.js';
import { configureQuiet, loadCell, section, waitForQuiet, type LoadNote } from './lib/quiet.js';
import { bytes, codeLine, LATENCY_HEADER, latencyCells, log, machineLine, ms, num, table, writeSection } from './lib/report.js';
import { groupPut, GROUP_SCHEMA, type GroupRef, type Idp } from './lib/scim-bodies.js';
import { createGroup, memberCount, seedUsers } from './lib/seed.js';

// Issues 4 and 5: what the audit trail and effective access cost on the write path, how fast the
// trail can be read back, and how fast the admin API answers "what can X do" and "who holds P".
// Everything goes through the real interfaces — SCIM and /api/v1 over HTTP, the operator CLI —
// and each part reports "not available" until the code behind it exists, so the script runs on
// any commit. Run: `npx tsx bench/audit-and-access.ts` (see bench/README.md).

const USERS = 100_000;
const PUT_SIZE = 50_000;
const SMALL = 10;
const USER_GROUPS = 20;
const TARGET_PUT_MS = 10_000;

// Groups the recommended access model (seeded with each new workspace) maps to roles by
// displayName, so their membership changes alter effective access.
const LOCAL = 'codex-local-users';
const CLOUD = 'codex-cloud-users';
const ADMINS = 'codex-admins';

type Counts = Record<string, number>;

/** The newest seq of the workspace's events (seq is global and has gaps: only order matters). */
async function headSeq(db: Db, workspaceId: string): Promise<number> {
  const row = await db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).where('workspace_id', '=', workspaceId).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Events appended since `afterSeq`, by type. */
async function eventsSince(db: Db, workspaceId: string, afterSeq: number): Promise<Counts> {
  const rows = await sql<{ event_type: string; n: number }>`
    select event_type, count(*)::int as n from audit_events where workspace_id = ${workspaceId} and seq > ${afterSeq} group by event_type`.execute(db);
  return Object.fromEntries(rows.rows.map((r) => [r.event_type, Number(r.n)]));
}

const memberEvents = (c: Counts) => (c['group.member_added'] ?? 0) + (c['group.member_removed'] ?? 0);
const accessEvents = (c: Counts) => c['access.changed'] ?? 0;
const allEvents = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

/** A SCIM write and the audit events it appended. */
async function audited<T>(env: BenchEnvironment, work: () => Promise<T>): Promise<{ result: T; ms: number; events: Counts }> {
  const before = await headSeq(env.db, env.workspaceId);
  const { result, ms } = await timed(work);
  return { result, ms, events: await eventsSince(env.db, env.workspaceId, before) };
}

async function put(env: BenchEnvironment, group: GroupRef, userIds: readonly string[]): Promise<{ ms: number; cpu: CpuSplit }> {
  const body = JSON.stringify(groupPut(group, userIds));
  const { result, cpu } = await withCpu(env, () => env.scim.send('PUT', `/Groups/${group.id}?excludedAttributes=members`, body, { timeoutMs: 300_000 }));
  if (result.status !== 200) throw new Error(`PUT ${group.displayName} answered ${result.status}`);
  return { ms: result.ms, cpu };
}

// ---------------------------------------------------------------------------------------------
// The admin API: an owner token from the operator CLI, then plain HTTP.

interface Admin {
  client?: BenchClient;
  /** Why the admin API could not be used, when it could not. */
  unavailable?: string;
}

async function adminClient(env: BenchEnvironment): Promise<Admin> {
  let token: string;
  try {
    token = env.cli(['token', 'create', '--workspace', 'bench', '--scope', 'admin', '--role', 'owner', '--description', 'benchmark']).trim().split('\n').pop()!.trim();
  } catch (error) {
    return { unavailable: `no admin token from the CLI (${String((error as Error).message).split('\n')[0]!.slice(0, 160)})` };
  }
  const client = new BenchClient(env.baseUrl, token, 'application/json');
  const probe = await client.send('GET', '/api/v1/roles');
  if (probe.status !== 200) {
    client.destroy();
    return { unavailable: `GET /api/v1/roles answered ${probe.status}` };
  }
  return { client };
}

// ---------------------------------------------------------------------------------------------

interface Fixture {
  users: string[];
  local: GroupRef;
  cloud: GroupRef;
  admins: GroupRef;
}

interface PatchResult {
  idp: Idp;
  stats: Map<string, LatencyStats>;
  requests: number;
  events: Counts;
  load: LoadNote;
}

async function patchesWithEvents(env: BenchEnvironment, f: Fixture, idp: Idp, perCase: number, warmup: number): Promise<PatchResult> {
  const run = await section(`one-member PATCH with events, ${idp}`, () =>
    audited(env, () =>
      interleavedMemberPatches(env.scim, {
        idp,
        small: f.cloud,
        large: f.local,
        smallOutsider: f.users[USERS - 1]!,
        largeMember: f.users[USERS / 2]!,
        perCase,
        warmup,
      }),
    ),
  );
  return { idp, stats: run.result.result, requests: (perCase + warmup) * 4, events: run.result.events, load: run.load };
}

interface PutCase {
  name: string;
  runs: { ms: number; events: Counts; load: number; cpu: CpuSplit }[];
}

/**
 * 50,000-member PUTs with all their events, in cycles that leave the groups as they found them:
 * 100,000 → 50,000 → 100,000 on codex-local-users, and 0 → 50,000 → 0 on codex-admins.
 */
async function putsWithEvents(env: BenchEnvironment, f: Fixture, reps: number): Promise<PutCase[]> {
  const half = f.users.slice(0, PUT_SIZE);
  const other = f.users.slice(PUT_SIZE);
  const cases: PutCase[] = [
    { name: `PUT ${num(PUT_SIZE)} onto \`${LOCAL}\` (${num(USERS)} members): ${num(PUT_SIZE)} removed`, runs: [] },
    { name: `PUT ${num(USERS)} onto \`${LOCAL}\` (${num(PUT_SIZE)} members): ${num(PUT_SIZE)} added`, runs: [] },
    { name: `PUT ${num(PUT_SIZE)} onto an empty \`${ADMINS}\`: ${num(PUT_SIZE)} added (8 permissions each)`, runs: [] },
    { name: `PUT no members onto \`${ADMINS}\` (${num(PUT_SIZE)} members): ${num(PUT_SIZE)} removed`, runs: [] },
  ];
  const steps: [PutCase, GroupRef, readonly string[]][] = [
    [cases[0]!, f.local, half],
    [cases[1]!, f.local, f.users],
    [cases[2]!, f.admins, other],
    [cases[3]!, f.admins, []],
  ];
  for (let r = 0; r < reps; r++) {
    for (const [c, group, members] of steps) {
      // Steady state: statistics current, as autovacuum leaves a quiet table (see large-groups.ts
      // for what a PUT costs when they are not).
      await sql`vacuum analyze group_members`.execute(env.db);
      const load = await waitForQuiet();
      const run = await audited(env, () => put(env, group, members));
      c.runs.push({ ms: run.result.ms, events: run.events, load, cpu: run.result.cpu });
      log(`${c.name}: ${ms(run.result.ms)}, ${num(allEvents(run.events))} events`);
    }
  }
  if ((await memberCount(env.db, f.local.id)) !== USERS || (await memberCount(env.db, f.admins.id)) !== 0) throw new Error('PUT cycles did not restore the groups');
  return cases;
}

/** EXPLAIN ANALYZE of every statement of one 50,000-member PUT (100,000 → 50,000) with its events. */
async function explainPut(env: BenchEnvironment, f: Fixture): Promise<string> {
  await sql`vacuum analyze group_members`.execute(env.db);
  const half = f.users.slice(0, PUT_SIZE);
  const plans = await capture(env, (ctx) => replaceGroup(ctx, f.local.id, groupPut(f.local, half)));
  printPlans('PUT 50,000 onto codex-local-users (100,000 members)', plans);
  await put(env, f.local, f.users);
  return [`#### PUT ${num(PUT_SIZE)} onto \`${LOCAL}\` (${num(USERS)} members), ten slowest statements`, '', statementTable(plans, { slowestFirst: true, limit: 10 })].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reading the trail back.

interface ReadRate {
  name: string;
  events: number;
  ms: number;
  bytes?: number;
  note?: string;
}

/** The export a compliance pipeline runs, `codex-scim audit export --since --until`, once the CLI has it. */
async function cliExport(env: BenchEnvironment): Promise<ReadRate> {
  const name = '`codex-scim audit export --since … --until …` (CLI, JSONL on stdout)';
  let help: string;
  try {
    help = env.cli(['audit', 'export', '--help']);
  } catch {
    return { name, events: 0, ms: NaN, note: 'not available yet: the CLI has no `audit export`' };
  }
  const args = ['audit', 'export', '--since', '2000-01-01T00:00:00.000Z', '--until', new Date(Date.now() + 60_000).toISOString()];
  if (help.includes('--workspace')) args.push('--workspace', 'bench');
  const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
  const started = process.hrtime.bigint();
  const { lines, size, code, stderr } = await new Promise<{ lines: number; size: number; code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env.serviceEnv },
    });
    let lines = 0;
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ lines, size, code, stderr }));
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) return { name, events: 0, ms: NaN, note: `failed (exit ${code}): ${stderr.trim().split('\n')[0]?.slice(0, 160)}` };
  return { name, events: lines, ms: elapsed, bytes: size, note: 'includes starting the CLI process' };
}

/**
 * The HTTP export a compliance pipeline polls: list the JSONL files (one per UTC hour), download
 * each, streamed. Also reports how much the server's memory rose while streaming them.
 */
async function httpExport(env: BenchEnvironment, admin: Admin): Promise<ReadRate> {
  const name = '`GET /api/v1/audit/exports/{file}` (HTTP, every hourly JSONL file)';
  if (!admin.client) return { name, events: 0, ms: NaN, note: `not available: ${admin.unavailable}` };
  const listed = await admin.client.send('GET', '/api/v1/audit/exports?includeIncomplete=true&limit=1000', undefined, { keepBody: true });
  if (listed.status !== 200) return { name, events: 0, ms: NaN, note: `not available yet: GET /api/v1/audit/exports answered ${listed.status}` };
  const files = (JSON.parse(listed.body!) as { files: { path: string; events: number }[] }).files;
  const before = await env.serverStats({ gc: true });
  let lines = 0;
  let listedEvents = 0;
  let size = 0;
  const { ms: elapsed } = await timed(async () => {
    for (const file of files) {
      const path = file.path.startsWith('/') ? file.path : `/api/v1/audit/exports/${file.path}`;
      const result = await admin.client!.send('GET', path, undefined, { countLines: true, timeoutMs: 600_000 });
      if (result.status !== 200) throw new Error(`GET ${path} answered ${result.status}`);
      size += result.bytes;
      lines += result.lines ?? 0;
      listedEvents += file.events;
    }
  });
  const after = await env.serverStats({ gc: true });
  if (lines !== listedEvents) throw new Error(`the export files held ${lines} records, their listing said ${listedEvents}`);
  return {
    name,
    events: lines,
    ms: elapsed,
    bytes: size,
    note: `${files.length} file(s); server peak RSS +${bytes(Math.max(0, after.peakRss - before.rss))}, live heap after GC ${bytes(before.heapAfterGc)} → ${bytes(after.heapAfterGc)}`,
  };
}

/** What any export has to do at least: keyset pages in seq order, one JSON line per event. */
async function keysetJsonl(env: BenchEnvironment): Promise<ReadRate> {
  await sealPending(env.db, { origin: 'bench' });
  let after = -1;
  let events = 0;
  let size = 0;
  const { ms: elapsed } = await timed(async () => {
    for (;;) {
      const page = await listSealedEvents(env.db, env.workspaceId, after, Number.MAX_SAFE_INTEGER, 5_000);
      for (const event of page) size += Buffer.byteLength(JSON.stringify(event)) + 1;
      events += page.length;
      if (page.length < 5_000) break;
      after = page[page.length - 1]!.leafIndex!;
    }
  });
  return { name: 'keyset pages of 5,000 (`listSealedEvents`) → JSON lines, in process', events, ms: elapsed, bytes: size, note: 'the floor under any export' };
}

async function verifyRate(env: BenchEnvironment): Promise<ReadRate> {
  await sealPending(env.db, { origin: 'bench' });
  const { result, ms: elapsed } = await timed(() => verifyAuditLog(env.db, env.workspaceId));
  if (!result.ok) throw new Error(`the audit log does not verify: ${JSON.stringify(result.firstBroken)}`);
  return { name: '`verifyAuditLog` (every leaf re-hashed, root recomputed)', events: result.checked, ms: elapsed };
}

// ---------------------------------------------------------------------------------------------
// Effective access reads.

interface AccessReads {
  rows: (string | number)[][];
  notes: string[];
}

async function accessReads(env: BenchEnvironment, admin: Admin, f: Fixture, perCase: number, warmup: number): Promise<AccessReads> {
  const notes: string[] = [];
  const rows: (string | number)[][] = [];
  if (!admin.client) return { rows, notes: [`Not measured: the admin API is not available yet (${admin.unavailable}).`] };
  const api = admin.client;

  // One user in 20 groups, each mapped to a role of its own that allows one permission and denies
  // or leaves another, so resolution has 20 roles to combine.
  const subject = f.users[7]!;
  const permissions = ['codex_local', 'codex_cloud', 'code_review', 'access_tokens', 'agent_internet', 'codex_security'];
  const setup = await timed(async () => {
    for (let g = 1; g <= USER_GROUPS; g++) {
      const name = `bench-team-${String(g).padStart(2, '0')}`;
      const group = await env.scim.json<{ id: string }>('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: name, members: [{ value: subject }] }, [201]);
      const effects: Record<string, string> = { [permissions[g % permissions.length]!]: 'allow' };
      if (g % 5 === 0) effects[permissions[(g + 1) % permissions.length]!] = 'deny';
      const role = await api.json<{ id: string }>('POST', '/api/v1/roles', { name: `Bench role ${g}`, permissions: effects }, [201]);
      await api.json('POST', '/api/v1/mappings', { roleId: role.id, groupId: group.id }, [201]);
    }
  });
  notes.push(`Setup of ${USER_GROUPS} groups, roles and mappings for one user: ${ms(setup.ms)}.`);

  const quiet = await waitForQuiet();
  const one = async (label: string, path: string, method = 'GET', body?: unknown) => {
    const s = (await sequential(api, { warmup, iterations: perCase, build: () => ({ method, path, body }), expect: [200] })).get('all')!;
    const size = (await api.send(method, path, body)).bytes;
    rows.push([label, ...latencyCells(s), bytes(size)]);
  };
  await one(`effective permissions of a user in ${USER_GROUPS} mapped groups (by id)`, `/api/v1/users/${subject}/effective-permissions`);
  await one('same, looked up by userName', `/api/v1/users/${encodeURIComponent('bench.user.8@example.com')}/effective-permissions`);
  await one(`same, a user in 1 mapped group (\`${LOCAL}\`)`, `/api/v1/users/${f.users[USERS - 2]!}/effective-permissions`);
  await one('batch of 1,000 users (`POST /effective-permissions:batch`)', '/api/v1/effective-permissions:batch', 'POST', { userIds: f.users.slice(1000, 2000) });
  await one(`holders of codex_local among ${num(USERS)} users, first page of 100`, '/api/v1/permissions/codex_local/holders');
  await one('same, first page of 1,000', '/api/v1/permissions/codex_local/holders?limit=1000');
  await one('same, first page of 100 with `includeTotal=true`', '/api/v1/permissions/codex_local/holders?includeTotal=true');

  // Every holder, page by page, as a client listing all of them would.
  let cursor: string | null = null;
  let holders = 0;
  let pages = 0;
  const walk = await timed(async () => {
    do {
      const page: { holders: unknown[]; nextCursor: string | null } = await api.json(
        'GET',
        `/api/v1/permissions/codex_local/holders?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined,
        [200],
      );
      holders += page.holders.length;
      pages++;
      cursor = page.nextCursor;
    } while (cursor && pages < 1_000);
  });
  rows.push([`all holders of codex_local, ${num(pages)} pages of 1,000`, '1', ms(walk.ms), '–', '–', ms(walk.ms), num(holders / (walk.ms / 1000)) + ' holders/s', `${num(holders)} holders`]);
  notes.push(`Load ${quiet.toFixed(1)} at the start of the reads.`);
  return { rows, notes };
}

// ---------------------------------------------------------------------------------------------

export async function runAuditAndAccess(options: BenchOptions): Promise<void> {
  const perCase = options.quick ? 30 : 300;
  const warmup = options.quick ? 5 : 20;
  const putReps = options.quick ? 1 : 3;

  configureQuiet(options.quick ? { perSectionMs: 0 } : {});
  const env = await startEnvironment('audit_access', { durable: options.durable, serviceEnv: { ADMIN_JWT_SECRET: randomBytes(48).toString('base64') } });
  try {
    log(`PostgreSQL ${env.pg.version}, app at ${env.baseUrl}`);
    const seeded = await timed(() => seedUsers(env.db, env.workspaceId, USERS));
    const users = seeded.result;
    log(`seeded ${num(USERS)} users in ${ms(seeded.ms)}`);
    const admin = await adminClient(env);
    if (admin.unavailable) log(`admin API: ${admin.unavailable}`);

    const f: Fixture = {
      users,
      local: { id: await createGroup(env.scim, LOCAL), displayName: LOCAL },
      cloud: { id: await createGroup(env.scim, CLOUD), displayName: CLOUD },
      admins: { id: await createGroup(env.scim, ADMINS), displayName: ADMINS },
    };
    // Memberships go through SCIM, so the effective-access snapshot and the trail are what the
    // service would have written: one 100,000-member PUT (itself a measurement).
    const fill = await audited(env, () => put(env, f.local, users));
    log(`filled ${LOCAL} with ${num(USERS)} members in ${ms(fill.result.ms)}`);
    await put(env, f.cloud, users.slice(0, SMALL));
    await sql`vacuum analyze`.execute(env.db);

    const patches: PatchResult[] = [];
    for (const idp of ['okta', 'entra'] as const) patches.push(await patchesWithEvents(env, f, idp, perCase, warmup));

    const puts = await putsWithEvents(env, f, putReps);
    const explained = options.explain ? await explainPut(env, f) : undefined;
    const reads = await accessReads(env, admin, f, perCase, warmup);

    await sql`vacuum analyze audit_events`.execute(env.db);
    const readLoad = await waitForQuiet();
    log('reading the trail back');
    const rates = [await httpExport(env, admin), await cliExport(env), await keysetJsonl(env), await verifyRate(env)];

    admin.client?.destroy();
    const report = render(env, { seedMs: seeded.ms, fill, patches, puts, reads, rates, readLoad, admin, explained });
    process.stdout.write(`${report}\n`);
    if (options.write) writeSection('audit-and-access', report);
  } finally {
    await env.close();
  }
}

interface Results {
  seedMs: number;
  fill: { result: { ms: number; cpu: CpuSplit }; events: Counts };
  patches: PatchResult[];
  puts: PutCase[];
  reads: AccessReads;
  rates: ReadRate[];
  readLoad: number;
  admin: Admin;
  explained?: string;
}

function eventMix(c: Counts, per = 1): string {
  const f = (n: number) => (per === 1 ? num(n) : num(n / per, 2));
  return `${f(memberEvents(c))} member + ${f(accessEvents(c))} access.changed`;
}

function render(env: BenchEnvironment, r: Results): string {
  const out: string[] = [];
  out.push('## Audit trail and effective access (issues 4 and 5)', '');
  out.push(machineLine(env), codeLine(), '');
  out.push(
    `Seed: ${num(USERS)} users (set-based SQL, ${ms(r.seedMs)}), then \`${LOCAL}\` filled with all of them by one SCIM PUT: ` +
      `${ms(r.fill.result.ms)}, ${num(allEvents(r.fill.events))} events (${eventMix(r.fill.events)}). ` +
      `\`${LOCAL}\`, \`${CLOUD}\` and \`${ADMINS}\` are mapped to roles by the recommended access model of a new workspace, so changing their members changes effective access.`,
    '',
  );

  out.push('### One-member PATCH with its audit and effective-access events', '');
  out.push(
    `\`${CLOUD}\` (${SMALL} members) and \`${LOCAL}\` (${num(USERS)} members) interleaved, each request adding or removing one member (see the large-groups section for the method). ` +
      'Events per request are counted from the trail over the whole loop, warm-up included.',
    '',
  );
  const rows: string[][] = [];
  for (const p of r.patches) {
    for (const size of ['small', 'large'] as const) {
      for (const change of ['add', 'remove'] as const) {
        rows.push([`${p.idp} ${change}, ${size === 'small' ? `${SMALL}-member` : `${num(USERS)}-member`} group`, ...latencyCells(p.stats.get(`${size}:${change}`)!), loadCell(p.load)]);
      }
    }
    rows.push([`${p.idp}: events per request`, num(p.requests), '', '', '', '', '', eventMix(p.events, p.requests)]);
  }
  out.push(table(['case', ...LATENCY_HEADER, 'load / events'], rows), '');

  out.push(`### ${num(PUT_SIZE)}-member PUT with all its events`, '');
  out.push(
    `Wall time of one PUT (\`excludedAttributes=members\`) through HTTP: the membership change, one member event per member and one access.changed event per user whose permissions changed, in one transaction. ` +
      `Target: under ${ms(TARGET_PUT_MS)}. Each run after VACUUM ANALYZE of group_members. App and PostgreSQL CPU: CPU time each used during the request.`,
    '',
  );
  let worst = 0;
  out.push(
    table(
      ['case', 'median', 'runs', 'events', 'events/s', 'app CPU', 'PostgreSQL CPU', 'target', 'load'],
      r.puts.map((c) => {
        const m = median(c.runs.map((x) => x.ms));
        worst = Math.max(worst, ...c.runs.map((x) => x.ms));
        const events = median(c.runs.map((x) => allEvents(x.events)));
        return [
          c.name,
          ms(m),
          c.runs.map((x) => ms(x.ms)).join(', '),
          `${num(events)} (${eventMix(c.runs[0]!.events)})`,
          num(events / (m / 1000)),
          ms(median(c.runs.map((x) => x.cpu.appMs)), 0),
          ms(median(c.runs.map((x) => x.cpu.pgMs)), 0),
          m < TARGET_PUT_MS ? 'met' : '**missed**',
          c.runs.map((x) => x.load.toFixed(1)).join(', '),
        ];
      }),
    ),
    '',
  );
  const medians = r.puts.map((c) => median(c.runs.map((x) => x.ms)));
  out.push(`**Target ${Math.max(...medians) < TARGET_PUT_MS ? 'met' : 'missed'}** (slowest median ${ms(Math.max(...medians))}, slowest run ${ms(worst)}).`, '');

  out.push('### Reading the trail back', '');
  out.push(`Over the whole trail of the run. Load ${r.readLoad.toFixed(1)} at the start.`, '');
  out.push(
    table(
      ['reader', 'events', 'time', 'events/s', 'size', 'note'],
      r.rates.map((x) => [
        x.name,
        x.events ? num(x.events) : '–',
        ms(x.ms),
        Number.isFinite(x.ms) && x.events ? num(x.events / (x.ms / 1000)) : '–',
        x.bytes ? bytes(x.bytes) : '–',
        x.note ?? '',
      ]),
    ),
    '',
  );

  out.push('### Effective access reads (admin API)', '');
  if (r.reads.rows.length > 0) {
    out.push(table(['request', ...LATENCY_HEADER, 'response'], r.reads.rows.map((row) => row.map(String))), '');
  }
  out.push(r.reads.notes.join(' '));
  if (r.explained) {
    out.push('', '<details><summary>Where a 50,000-member PUT with its events spends its statement time (<code>--explain</code>)</summary>', '', r.explained, '</details>');
  }
  return out.join('\n');
}

if (isMain(import.meta.url)) {
  runAuditAndAccess(parseOptions()).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
