import { loadavg } from 'node:os';
import { sql } from 'kysely';
import type { Db } from '../src/db/index.js';
import { isMain, parseOptions, type BenchOptions } from './lib/cli.js';
import { startEnvironment, withCpu, type BenchEnvironment, type CpuSplit } from './lib/environment.js';
import { explainMembershipStatements } from './lib/explain.js';
import { TimeoutError, type HttpResult } from './lib/http.js';
import { cannon, median, sequential, timed, type LatencyStats } from './lib/measure.js';
import { bytes, codeLine, LATENCY_HEADER, latencyCells, log, machineLine, ms, num, table, writeSection } from './lib/report.js';
import { configureQuiet, loadCell, section, waitForQuiet, type LoadNote } from './lib/quiet.js';
import { interleavedMemberPatches, type Size } from './lib/membership.js';
import { groupPut, memberPatch, type GroupRef, type Idp, type MemberChange } from './lib/scim-bodies.js';
import { addAllUsers, analyze, createGroup, memberCount, seedUsers, setMembers } from './lib/seed.js';

// Does a one-member PATCH on a 100,000-member group cost what it costs on a 10-member
// group? And what do a 50,000-member PUT and a GET of the big group cost? On real PostgreSQL,
// through HTTP, against the real app. Run: `npx tsx bench/large-groups.ts` (see bench/README.md).

const USERS = 100_000;
const SMALL = 10;
const PUT_SIZE = 50_000;
const TARGET_RATIO = 2;

interface Fixture {
  users: string[];
  large: GroupRef;
  small: GroupRef;
  fresh: GroupRef;
}

async function chainSeq(db: Db, workspaceId: string): Promise<number> {
  const row = await sql<{ seq: number }>`select max(seq) as seq from audit_events where workspace_id = ${workspaceId}`.execute(db);
  return Number(row.rows[0]?.seq ?? 0);
}

async function seed(env: BenchEnvironment): Promise<{ fixture: Fixture; seedMs: { users: number; members: number } }> {
  const users = await timed(() => seedUsers(env.db, env.workspaceId, USERS));
  log(`seeded ${num(users.result.length)} users in ${ms(users.ms)}`);
  const large: GroupRef = { id: await createGroup(env.scim, 'bench-large'), displayName: 'bench-large' };
  const small: GroupRef = { id: await createGroup(env.scim, 'bench-small'), displayName: 'bench-small' };
  const fresh: GroupRef = { id: await createGroup(env.scim, 'bench-put-fresh'), displayName: 'bench-put-fresh' };
  const members = await timed(() => addAllUsers(env.db, env.workspaceId, large.id));
  log(`added ${num(members.result)} members to ${large.displayName} in ${ms(members.ms)}`);
  await setMembers(env.db, env.workspaceId, small.id, users.result.slice(0, SMALL));
  await analyze(env.db);
  return { fixture: { users: users.result, large, small, fresh }, seedMs: { users: users.ms, members: members.ms } };
}

/** One-member PATCHes on both groups (see lib/membership.ts); both must end as they started. */
async function onePatchLatency(env: BenchEnvironment, f: Fixture, idp: Idp, perCase: number, warmup: number) {
  const result = await interleavedMemberPatches(env.scim, {
    idp,
    small: f.small,
    large: f.large,
    smallOutsider: f.users[USERS - 1]!,
    largeMember: f.users[USERS / 2]!,
    perCase,
    warmup,
  });
  if ((await memberCount(env.db, f.large.id)) !== USERS || (await memberCount(env.db, f.small.id)) !== SMALL) {
    throw new Error('the alternating PATCHes did not leave both groups as they were');
  }
  return result;
}

/** Concurrent one-member PATCHes to one group: each connection adds and removes a member of its own. */
async function concurrentPatches(env: BenchEnvironment, f: Fixture, size: Size, connections: number, seconds: number) {
  const group = size === 'small' ? f.small : f.large;
  const result = await cannon(env.scim, {
    connections,
    seconds,
    expect: [200, 204],
    requestsFor: (c) => {
      // Large: members 1000+c (present), removed then re-added. Small: non-members 2000+c.
      const user = size === 'small' ? f.users[2000 + c]! : f.users[1000 + c]!;
      const order: MemberChange[] = size === 'small' ? ['add', 'remove'] : ['remove', 'add'];
      return order.map((change) => ({ method: 'PATCH', path: `/Groups/${group.id}`, body: memberPatch('entra', change, group, user) }));
    },
  });
  // autocannon stops mid-sequence: put back whatever a connection left half-done.
  if (size === 'small') await setMembers(env.db, env.workspaceId, f.small.id, f.users.slice(0, SMALL));
  else await addAllUsers(env.db, env.workspaceId, f.large.id);
  return result;
}

interface PutRun {
  ms: number;
  status: number;
  responseBytes: number;
  events: number;
  /** The request was abandoned after the cutoff and its statement cancelled. */
  cancelled: boolean;
  /** 1-minute load average when the PUT was sent. */
  load: number;
  cpu: CpuSplit;
}

/** Cancels the app's running membership statements (a PUT abandoned by the benchmark). */
async function cancelMembershipStatements(db: Db): Promise<number> {
  const result = await sql<{ cancelled: boolean }>`
    select pg_cancel_backend(pid) as cancelled from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query ilike '%group_members%'`.execute(db);
  return result.rows.length;
}

async function putMembers(env: BenchEnvironment, group: GroupRef, userIds: string[], query = '', cutoffMs?: number): Promise<PutRun> {
  const before = await chainSeq(env.db, env.workspaceId);
  const body = JSON.stringify(groupPut(group, userIds));
  const started = process.hrtime.bigint();
  let result: HttpResult;
  let cpu: CpuSplit;
  try {
    const measured = await withCpu(env, () => env.scim.send('PUT', `/Groups/${group.id}${query}`, body, { timeoutMs: cutoffMs }));
    result = measured.result;
    cpu = measured.cpu;
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const cancelled = await cancelMembershipStatements(env.db);
    log(`PUT abandoned after ${ms(cutoffMs ?? 0)}; cancelled ${cancelled} statement(s)`);
    // The rolled-back transaction wrote nothing.
    const events = (await chainSeq(env.db, env.workspaceId)) - before;
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: 0, responseBytes: 0, events, cancelled: true, load: 0, cpu: { appMs: NaN, pgMs: NaN } };
  }
  if (result.status !== 200) throw new Error(`PUT /Groups/${group.id} answered ${result.status}`);
  const events = (await chainSeq(env.db, env.workspaceId)) - before;
  const membersAfter = await memberCount(env.db, group.id);
  if (membersAfter !== userIds.length) throw new Error(`after the PUT the group has ${membersAfter} members, expected ${userIds.length}`);
  return { ms: result.ms, status: result.status, responseBytes: result.bytes, events, cancelled: false, load: 0, cpu };
}

interface PutCase {
  name: string;
  changed: number;
  runs: PutRun[];
}

const STALE_CUTOFF_MS = 60_000;
const STALE_SMALL_KEEP = 1_000;

async function bulkPuts(env: BenchEnvironment, f: Fixture, reps: number): Promise<PutCase[]> {
  const half = f.users.slice(0, PUT_SIZE);
  const otherHalf = f.users.slice(PUT_SIZE, 2 * PUT_SIZE);
  const cases: PutCase[] = [];
  const run = async (name: string, changed: number, prepare: () => Promise<void>, put: () => Promise<PutRun>, times = reps) => {
    const runs: PutRun[] = [];
    for (let r = 0; r < times; r++) {
      await prepare();
      const load = await waitForQuiet();
      runs.push({ ...(await put()), load });
      log(`${name}: ${ms(runs[runs.length - 1]!.ms)}`);
    }
    cases.push({ name, changed, runs });
  };
  // Steady state: planner statistics current (VACUUM ANALYZE after each reset), as autovacuum
  // leaves a table that has been quiet for a while.
  const settle = () => sql`vacuum analyze group_members`.execute(env.db).then(() => undefined);
  const restoreLarge = async () => {
    await addAllUsers(env.db, env.workspaceId, f.large.id);
    await settle();
  };
  const emptyFresh = async () => {
    await setMembers(env.db, env.workspaceId, f.fresh.id, []);
    await settle();
  };
  const fillFresh = async () => {
    await setMembers(env.db, env.workspaceId, f.fresh.id, otherHalf);
    await settle();
  };
  const excluded = '?excludedAttributes=members';
  await run(`PUT ${num(PUT_SIZE)} onto the ${num(USERS)}-member group (removes ${num(PUT_SIZE)}), full response`, PUT_SIZE, restoreLarge, () => putMembers(env, f.large, half));
  await run('same, `?excludedAttributes=members`', PUT_SIZE, restoreLarge, () => putMembers(env, f.large, half, excluded));
  await run(`PUT ${num(PUT_SIZE)} onto an empty group (adds ${num(PUT_SIZE)}), full response`, PUT_SIZE, emptyFresh, () => putMembers(env, f.fresh, otherHalf));
  await run('same, `?excludedAttributes=members`', PUT_SIZE, emptyFresh, () => putMembers(env, f.fresh, otherHalf, excluded));
  await run(`PUT the same ${num(PUT_SIZE)} again (no change)`, 0, fillFresh, () => putMembers(env, f.fresh, otherHalf, excluded));
  const shifted = [...otherHalf.slice(PUT_SIZE / 2), ...half.slice(0, PUT_SIZE / 2)];
  await run(`PUT ${num(PUT_SIZE)} onto a ${num(PUT_SIZE)}-member group, half new (${num(PUT_SIZE / 2)} removed + ${num(PUT_SIZE / 2)} added)`, PUT_SIZE, fillFresh, () =>
    putMembers(env, f.fresh, shifted, excluded),
  );

  // Right after a group grew, before autovacuum re-analyzes group_members, the planner still
  // believes the group (nearly) empty. Each run: analyze with the group empty, then grow it to
  // 50,000 members, then PUT.
  const growUnanalyzed = async () => {
    await setMembers(env.db, env.workspaceId, f.fresh.id, []);
    await settle();
    await setMembers(env.db, env.workspaceId, f.fresh.id, otherHalf);
  };
  await run(
    `stale statistics: PUT ${num(STALE_SMALL_KEEP)} onto a group that just grew to ${num(PUT_SIZE)} (removes ${num(PUT_SIZE - STALE_SMALL_KEEP)})`,
    PUT_SIZE - STALE_SMALL_KEEP,
    growUnanalyzed,
    () => putMembers(env, f.fresh, otherHalf.slice(0, STALE_SMALL_KEEP), excluded, STALE_CUTOFF_MS),
    1,
  );
  await run(
    `stale statistics: PUT the same ${num(PUT_SIZE)} onto a group that just grew to ${num(PUT_SIZE)} (no change)`,
    0,
    growUnanalyzed,
    () => putMembers(env, f.fresh, otherHalf, excluded, STALE_CUTOFF_MS),
    1,
  );
  await emptyFresh();
  return cases;
}

interface GetFull {
  runs: { ms: number; bytes: number }[];
  peakRssDelta: number;
  /** Live heap after a full GC, before and after the GETs: what the streaming kept. */
  heapBefore: number;
  heapAfter: number;
}

async function fullGets(env: BenchEnvironment, group: GroupRef, reps: number): Promise<GetFull> {
  const before = await env.serverStats({ gc: true });
  const runs: { ms: number; bytes: number }[] = [];
  for (let r = 0; r < reps; r++) {
    const result = await env.scim.send('GET', `/Groups/${group.id}`);
    if (result.status !== 200) throw new Error(`GET answered ${result.status}`);
    runs.push({ ms: result.ms, bytes: result.bytes });
  }
  const after = await env.serverStats({ gc: true });
  return { runs, peakRssDelta: after.peakRss - before.rss, heapBefore: before.heapAfterGc, heapAfter: after.heapAfterGc };
}

export async function runLargeGroups(options: BenchOptions): Promise<void> {
  const perCase = options.quick ? 30 : 400;
  const warmup = options.quick ? 5 : 25;
  const seconds = options.quick ? 2 : 10;
  const putReps = options.quick ? 1 : 3;
  const getReps = options.quick ? 2 : 10;

  configureQuiet(options.quick ? { perSectionMs: 0 } : {});
  const env = await startEnvironment('large_groups', { durable: options.durable });
  try {
    log(`PostgreSQL ${env.pg.version} (fsync ${env.pg.settings.fsync}), app at ${env.baseUrl}`);
    const { fixture: f, seedMs } = await seed(env);

    const explain = options.explain ? await explainMembershipStatements(env, f) : undefined;

    const patch = new Map<Idp, { result: Map<string, LatencyStats>; load: LoadNote }>();
    for (const idp of ['okta', 'entra'] as const) {
      patch.set(idp, await section(`one-member PATCH, ${idp} bodies, ${perCase} per case`, () => onePatchLatency(env, f, idp, perCase, warmup)));
    }

    const concurrent = {
      small: await section(`concurrent PATCHes, 8 connections × ${seconds} s, small group`, () => concurrentPatches(env, f, 'small', 8, seconds)),
      large: await section(`concurrent PATCHes, 8 connections × ${seconds} s, large group`, () => concurrentPatches(env, f, 'large', 8, seconds)),
    };

    const getLoad = await waitForQuiet();
    log('GET of the large group');
    const slim = await sequential(env.scim, {
      warmup,
      iterations: perCase,
      build: () => ({ method: 'GET', path: `/Groups/${f.large.id}?excludedAttributes=members` }),
      expect: [200],
    });
    const lookup = await sequential(env.scim, {
      warmup,
      iterations: perCase,
      build: () => ({ method: 'GET', path: `/Groups?filter=${encodeURIComponent('displayName eq "bench-large"')}&excludedAttributes=members` }),
      expect: [200],
    });
    const slimLoad = await cannon(env.scim, {
      connections: 8,
      seconds,
      expect: [200],
      requestsFor: () => [{ method: 'GET', path: `/Groups/${f.large.id}?excludedAttributes=members` }],
    });
    const full = await fullGets(env, f.large, getReps);
    const smallFull = await sequential(env.scim, { warmup, iterations: perCase, build: () => ({ method: 'GET', path: `/Groups/${f.small.id}` }), expect: [200] });
    const getLoadNote: LoadNote = { start: getLoad, end: loadavg()[0]! };
    const size = async (path: string) => (await env.scim.send('GET', path)).bytes;
    const getBytes = {
      slim: await size(`/Groups/${f.large.id}?excludedAttributes=members`),
      lookup: await size(`/Groups?filter=${encodeURIComponent('displayName eq "bench-large"')}&excludedAttributes=members`),
      smallFull: await size(`/Groups/${f.small.id}`),
    };

    log(`50,000-member PUTs, ${putReps} of each`);
    const puts = await bulkPuts(env, f, putReps);

    const report = renderReport(env, options, { seedMs, patch, concurrent, slim: slim.get('all')!, lookup: lookup.get('all')!, slimLoad, full, smallFull: smallFull.get('all')!, getLoad: getLoadNote, getBytes, puts, explain });
    process.stdout.write(`${report}\n`);
    if (options.write) writeSection('large-groups', report);
  } finally {
    await env.close();
  }
}

interface Results {
  seedMs: { users: number; members: number };
  patch: Map<Idp, { result: Map<string, LatencyStats>; load: LoadNote }>;
  concurrent: Record<Size, { result: Awaited<ReturnType<typeof cannon>>; load: LoadNote }>;
  getLoad: LoadNote;
  getBytes: { slim: number; lookup: number; smallFull: number };
  slim: LatencyStats;
  lookup: LatencyStats;
  slimLoad: Awaited<ReturnType<typeof cannon>>;
  full: GetFull;
  smallFull: LatencyStats;
  puts: PutCase[];
  explain?: string;
}

function renderReport(env: BenchEnvironment, options: BenchOptions, r: Results): string {
  const out: string[] = [];
  out.push('## Large groups (issue 3)', '');
  out.push(machineLine(env), codeLine(), '');
  out.push(
    `Seed: ${num(USERS)} users in ${ms(r.seedMs.users)} and ${num(USERS)} memberships in ${ms(r.seedMs.members)} (set-based SQL). ` +
      `Groups: \`bench-large\` (${num(USERS)} members) and \`bench-small\` (${SMALL} members).`,
    '',
  );

  out.push('### One-member PATCH, sequential (one client, keep-alive)', '');
  out.push(
    'The two groups are interleaved request by request; each alternates add and remove of one member, so every request changes the membership ' +
      '(the large group removes and re-adds one of its members, the small one adds and removes a non-member). Okta bodies carry the rename op Group Push sends ' +
      'with every update and remove by `members[value eq "…"]`; Entra bodies use `Add`/`Remove` with a value list. The large group answers 204 (no member list ' +
      'nobody asked for), the small one 200 with its members. Latency is client-side, request written to response read.',
    '',
  );
  const rows: string[][] = [];
  const ratios: string[][] = [];
  let worstP50 = 0;
  for (const [idp, { result: byLabel, load }] of r.patch) {
    for (const change of ['add', 'remove'] as const) {
      const small = byLabel.get(`small:${change}`)!;
      const large = byLabel.get(`large:${change}`)!;
      rows.push([`${idp} ${change}, ${SMALL}-member group`, ...latencyCells(small), loadCell(load)]);
      rows.push([`${idp} ${change}, ${num(USERS)}-member group`, ...latencyCells(large), loadCell(load)]);
      const p50 = large.p50 / small.p50;
      worstP50 = Math.max(worstP50, p50);
      ratios.push([`${idp} ${change}`, `${p50.toFixed(2)}×`, `${(large.p95 / small.p95).toFixed(2)}×`, `${(large.p99 / small.p99).toFixed(2)}×`, p50 <= TARGET_RATIO ? 'met' : '**missed**']);
    }
  }
  out.push(table(['case', ...LATENCY_HEADER, 'load'], rows), '');
  out.push(`Large ÷ small (target: within ${TARGET_RATIO}× at p50):`, '');
  out.push(table(['case', 'p50', 'p95', 'p99', 'target'], ratios), '');
  out.push(`**Target ${worstP50 <= TARGET_RATIO ? 'met' : 'missed'}**: the worst p50 ratio is ${worstP50.toFixed(2)}×.`, '');

  out.push('### One-member PATCH, 8 concurrent connections to one group (autocannon, Entra bodies)', '');
  out.push(
    `Each connection adds and removes a member of its own, ${options.quick ? 2 : 10} s per group. Requests to one group queue on its row lock ` +
      'and every audited write queues on the workspace audit-chain head, so this is the serialised throughput of one group.',
    '',
  );
  out.push(
    table(
      ['group', ...LATENCY_HEADER, 'load'],
      (['small', 'large'] as const).map((size) => [
        size === 'small' ? `${SMALL} members` : `${num(USERS)} members`,
        ...latencyCells(r.concurrent[size].result.stats),
        loadCell(r.concurrent[size].load),
      ]),
    ),
    '',
  );

  out.push(`### ${num(PUT_SIZE)}-member PUT`, '');
  out.push(
    `Wall time of one PUT through HTTP, its audit events included (one per member added or removed, written in the same transaction); median of ${r.puts[0]?.runs.length ?? 0} runs, ` +
      'each after resetting the group and VACUUM ANALYZE. A full response streams the resulting member list back; `excludedAttributes=members` answers without it. ' +
      'App and PostgreSQL CPU are the CPU time each used during the request (2 cores: their sum can reach twice the wall time; what is left of the wall time is waiting). ' +
      `The last two rows PUT right after the group grew from 0 to ${num(PUT_SIZE)} members, before group_members is analyzed again; a run still going after ${ms(STALE_CUTOFF_MS)} is abandoned and its statement cancelled.`,
    '',
  );
  out.push(
    table(
      ['case', 'median', 'runs', 'members changed', 'audit events', 'response', 'app CPU', 'PostgreSQL CPU', 'load'],
      r.puts.map((c) => {
        const cancelled = c.runs.some((x) => x.cancelled);
        return [
          c.name,
          cancelled ? `**> ${ms(STALE_CUTOFF_MS)} (cancelled)**` : ms(median(c.runs.map((x) => x.ms))),
          c.runs.map((x) => (x.cancelled ? 'cancelled' : ms(x.ms))).join(', '),
          num(c.changed),
          cancelled ? '0 (rolled back)' : num(median(c.runs.map((x) => x.events))),
          cancelled ? '–' : bytes(median(c.runs.map((x) => x.responseBytes))),
          cancelled ? '–' : ms(median(c.runs.map((x) => x.cpu.appMs)), 0),
          cancelled ? '–' : ms(median(c.runs.map((x) => x.cpu.pgMs)), 0),
          c.runs.map((x) => x.load.toFixed(1)).join(', '),
        ];
      }),
    ),
    '',
  );

  out.push(`### GET of the ${num(USERS)}-member group`, '');
  out.push(`Load ${loadCell(r.getLoad)}.`, '');
  const fullMs = r.full.runs.map((x) => x.ms);
  const fullBytes = median(r.full.runs.map((x) => x.bytes));
  out.push(
    table(
      ['request', 'n', 'p50', 'p95', 'p99', 'max', 'req/s', 'response'],
      [
        [`\`GET /Groups/{id}?excludedAttributes=members\`, sequential`, ...latencyCells(r.slim), bytes(r.getBytes.slim)],
        [`same, 8 connections (autocannon)`, ...latencyCells(r.slimLoad.stats), bytes(r.getBytes.slim)],
        [`\`GET /Groups?filter=displayName eq "bench-large"&excludedAttributes=members\` (Entra's lookup)`, ...latencyCells(r.lookup), bytes(r.getBytes.lookup)],
        [`\`GET /Groups/{id}\`, ${SMALL}-member group, full`, ...latencyCells(r.smallFull), bytes(r.getBytes.smallFull)],
        [
          `\`GET /Groups/{id}\`, ${num(USERS)}-member group, full (streamed)`,
          num(fullMs.length),
          ms(median(fullMs)),
          '–',
          '–',
          ms(Math.max(...fullMs)),
          num(1000 / median(fullMs), 1),
          bytes(fullBytes),
        ],
      ],
    ),
    '',
  );
  out.push(
    `The full GET streams ${bytes(fullBytes)} at ${num(fullBytes / 1024 / 1024 / (median(fullMs) / 1000), 1)} MiB/s; the server's peak RSS rose by ${bytes(Math.max(0, r.full.peakRssDelta))} during the ${num(fullMs.length)} full GETs ` +
      `(transient: its live heap after a full GC was ${bytes(r.full.heapBefore)} before and ${bytes(r.full.heapAfter)} after).`,
  );
  if (r.explain) {
    out.push('', '<details><summary>EXPLAIN ANALYZE of each statement (<code>--explain</code>)</summary>', '', r.explain, '</details>');
  }
  return out.join('\n');
}

if (isMain(import.meta.url)) {
  runLargeGroups(parseOptions()).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
