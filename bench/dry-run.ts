import { randomBytes } from 'node:crypto';
import { isMain, parseOptions, type BenchOptions } from './lib/cli.js';
import { startEnvironment } from './lib/environment.js';
import { helloWorld } from './lib/hello.js';
import { BenchClient } from './lib/http.js';
import { median, timed } from './lib/measure.js';
import { codeLine, log, machineLine, ms, num, table, writeSection } from './lib/report.js';
import { addAllUsers, analyze, createGroup, seedUsers } from './lib/seed.js';

// A dry run of a change touching 50,000 users answers within 10 s on PostgreSQL.
// Two changes that reach every member of a 50,000-member group: mapping the group to a role
// (everyone gains) and, once mapped, a SCIM DELETE of the group (everyone loses), each dry-run
// over HTTP (the first page of 100 users, the totals over all), then the mapping made for real
// for comparison. PostgreSQL durable (fsync on). Run: `npx tsx bench/dry-run.ts [--quick]`.

const USERS = 50_000;
const TARGET_MS = 10_000;

export async function runDryRun(options: BenchOptions): Promise<void> {
  const env = await startEnvironment('dry-run', { durable: true, serviceEnv: { ADMIN_JWT_SECRET: randomBytes(48).toString('base64') } });
  const reps = options.quick ? 1 : 3;
  try {
    await seedUsers(env.db, env.workspaceId, USERS);
    const group = await createGroup(env.scim, 'bench-platform');
    await addAllUsers(env.db, env.workspaceId, group);
    await analyze(env.db);
    log(`seeded ${num(USERS)} users, all in one group`);
    const token = env.cli(['token', 'create', '--workspace', 'bench', '--scope', 'admin', '--role', 'owner', '--description', 'benchmark']).trim().split('\n').pop()!.trim();
    const admin = new BenchClient(env.baseUrl, token, 'application/json');
    const roles = await admin.json<Array<{ id: string; name: string }>>('GET', '/api/v1/roles', undefined, [200]);
    const cloud = roles.find((r) => r.name === 'Codex Cloud')!.id;
    const hello = await helloWorld(1, options.quick ? 2 : 5);

    const rows: (string | number)[][] = [];
    const measure = async (name: string, send: () => Promise<{ status: number; body?: string }>, expect: number) => {
      const samples: number[] = [];
      let users = 0;
      for (let i = 0; i < reps; i++) {
        const { result, ms: took } = await timed(send);
        if (result.status !== expect) throw new Error(`${name}: ${result.status} ${result.body?.slice(0, 300)}`);
        if (result.body) users = (JSON.parse(result.body) as { totals: { users: number } }).totals.users;
        samples.push(took);
      }
      const m = median(samples);
      rows.push([name, users ? num(users) : '–', ms(m), ms(Math.max(...samples)), m <= TARGET_MS ? 'met' : 'not met']);
      log(`${name}: median ${ms(m)}`);
    };
    const mapping = { roleId: cloud, groupId: group };
    await measure('dry run: map the group to Codex Cloud', () => admin.send('POST', '/api/v1/mappings?dryRun=true', mapping, { keepBody: true, timeoutMs: 600_000 }), 200);
    const real = await timed(() => admin.send('POST', '/api/v1/mappings', mapping, { timeoutMs: 600_000 }));
    if (real.result.status !== 201) throw new Error(`mapping: ${real.result.status}`);
    rows.push(['the same mapping, made (one run)', num(USERS), ms(real.ms), ms(real.ms), '–']);
    log(`real mapping: ${ms(real.ms)}`);
    await measure(
      'dry run: SCIM DELETE of the group',
      () => admin.send('POST', '/api/v1/simulate/scim', { method: 'DELETE', path: `/Groups/${group}` }, { keepBody: true, timeoutMs: 600_000 }),
      200,
    );
    admin.destroy();

    const markdown = [
      '### Dry runs (issue 15 §1)',
      '',
      machineLine(env),
      codeLine(),
      `${num(USERS)} users, all in one group; PostgreSQL durable (fsync on). Each dry run answers the totals over every affected user and the first page of 100; median of ${reps}. Goal: within ${ms(TARGET_MS)}. Hello-world in the same run: ${num(hello.stats.rps)} req/s, p50 ${ms(hello.stats.p50)}.`,
      '',
      table(['change', 'users affected', 'median', 'max', 'goal'], rows),
    ].join('\n');
    console.log(markdown);
    if (options.write) writeSection('dry-run', markdown);
  } finally {
    await env.close();
  }
}

if (isMain(import.meta.url)) await runDryRun(parseOptions());
