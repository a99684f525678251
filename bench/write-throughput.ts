import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '../src/audit/signed-note.js';
import * as usersService from '../src/services/users.service.js';
import { isMain, parseOptions, type BenchOptions } from './lib/cli.js';
import { startEnvironment, withCpu, type BenchEnvironment } from './lib/environment.js';
import { capture, statementTable } from './lib/explain.js';
import { helloWorld } from './lib/hello.js';
import { cannon, type CannonResult } from './lib/measure.js';
import { codeLine, log, machineLine, ms, num, table, writeSection } from './lib/report.js';
import { memberPatch } from './lib/scim-bodies.js';
import { createGroup, seedUsers } from './lib/seed.js';

// SCIM writes at an in-memory peer's speed, with every write audited in its own
// transaction and sealed into the signed Merkle log behind it. PostgreSQL with fsync,
// synchronous_commit and full_page_writes on (always, whatever --durable says), autocannon with
// 1 and 10 connections, 1,000 users, rate limit off, a Fastify hello-world measured in the same
// run as the machine's ceiling. Run: `npx tsx bench/write-throughput.ts` (see bench/README.md).

const USERS = 1_000;
const METRICS_TOKEN = 'bench-metrics-token-0123456789-abcdefghijklmnop';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Probe {
  name: string;
  connections: number;
  round: number;
  result: CannonResult;
  /** CPU per request of the app process and of PostgreSQL, in ms. */
  appCpu: number;
  pgCpu: number;
  load: number;
}


/** Seconds between an event's write and its sealing, from the service's own histogram: the bucket holding the 99th percentile. */
async function sealingLagP99(env: BenchEnvironment): Promise<{ p99: string; events: number }> {
  const res = await fetch(`${env.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  const buckets = [...text.matchAll(/^audit_sealing_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => ({ le: m[1]!, n: Number(m[2]) }));
  const total = buckets.find((b) => b.le === '+Inf')?.n ?? 0;
  const p99 = buckets.find((b) => b.n >= total * 0.99);
  return { p99: p99 ? (p99.le === '+Inf' ? '> 60 s' : `≤ ${p99.le} s`) : '–', events: total };
}

export async function runWriteThroughput(options: BenchOptions): Promise<void> {
  const keyDir = mkdtempSync(join(tmpdir(), 'bench-audit-key-'));
  const keyFile = join(keyDir, 'audit.key');
  writeFileSync(keyFile, `${generateKey('bench.example/audit').privateKey}\n`, { mode: 0o600 });
  const env = await startEnvironment('write-throughput', {
    durable: true,
    serviceEnv: { AUDIT_SIGNING_KEY_FILE: keyFile, METRICS_TOKEN },
  });
  const seconds = options.quick ? 3 : 10;
  const rounds = options.quick ? 1 : 2;
  const probes: Probe[] = [];
  const ceilings: Array<{ connections: number; rps: number; p99: number }> = [];
  try {
    const users = await seedUsers(env.db, env.workspaceId, USERS);
    const groups: Array<{ id: string; displayName: string }> = [];
    for (let c = 0; c < 10; c++) groups.push({ id: await createGroup(env.scim, `bench-writers-${c}`), displayName: `bench-writers-${c}` });
    log(`seeded ${num(USERS)} users and ${groups.length} groups`);

    const kinds: Array<{ name: string; expect: number[]; requestsFor: (c: number) => Array<{ method: string; path: string; body: unknown }> }> = [
      {
        name: 'POST /Users',
        expect: [201],
        requestsFor: () => [{ method: 'POST', path: '/Users', body: () => ({ schemas: [USER_SCHEMA], userName: `new.${randomUUID()}@example.com`, active: true, name: { givenName: 'New', familyName: 'User' } }) }],
      },
      {
        // Each connection its own user, alternating between two names: every request is a change.
        name: 'PATCH user (replace displayName)',
        expect: [200],
        requestsFor: (c) =>
          ['A', 'B'].map((v) => ({ method: 'PATCH', path: `/Users/${users[c]!}`, body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: `Bench ${v}` }] } })),
      },
      {
        // Each connection its own group, adding and removing one member (Entra's body).
        name: 'PATCH group (one member)',
        expect: [200, 204],
        requestsFor: (c) => (['add', 'remove'] as const).map((change) => ({ method: 'PATCH', path: `/Groups/${groups[c]!.id}`, body: memberPatch('entra', change, groups[c]!, users[100 + c]!) })),
      },
    ];

    for (let round = 1; round <= rounds; round++) {
      for (const connections of [1, 10]) {
        const hello = await helloWorld(connections, seconds);
        ceilings.push({ connections, rps: hello.stats.rps, p99: hello.stats.p99 });
        log(`round ${round}, ${connections} connections: hello-world ${num(hello.stats.rps)} req/s`);
        for (const kind of kinds) {
          const load = loadavg()[0]!;
          const { result, cpu } = await withCpu(env, () => cannon(env.scim, { connections, seconds, expect: kind.expect, requestsFor: kind.requestsFor }));
          const n = result.stats.n || 1;
          probes.push({ name: kind.name, connections, round, result, appCpu: cpu.appMs / n, pgCpu: cpu.pgMs / n, load });
          log(`  ${kind.name}: ${num(result.stats.rps)} req/s, p99 ${ms(result.stats.p99)}`);
        }
      }
    }
    const lag = await sealingLagP99(env);
    const explained: string[] = [];
    if (options.explain) {
      const post = await capture(env, (ctx) => usersService.createUser(ctx, { schemas: [USER_SCHEMA], userName: `explain.${randomUUID()}@example.com`, active: true }));
      const patch = await capture(env, (ctx) => usersService.patchUser(ctx, users[500]!, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: `Explained ${randomUUID()}` }] }));
      explained.push('', '#### Statements of one POST /Users (EXPLAIN ANALYZE)', '', statementTable(post), '', '#### Statements of one PATCH user', '', statementTable(patch));
    }
    const unsealed = await env.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('leaf_index', 'is', null).executeTakeFirstOrThrow();

    const rows = probes.map((p) => [p.name, p.connections, p.round, num(p.result.stats.rps), ms(p.result.stats.p50), ms(p.result.stats.p99), ms(p.appCpu, 2), ms(p.pgCpu, 2), p.load.toFixed(1)]);
    const ceilingRows = ceilings.map((c, i) => [`hello-world (round ${Math.floor(i / 2) + 1})`, c.connections, num(c.rps), ms(c.p99)]);
    const markdown = [
      '### Write throughput (issue 11)',
      '',
      machineLine(env),
      codeLine(),
      `Each probe runs ${seconds} s per round; every write is audited in its own transaction and sealed, signed, behind it.`,
      '',
      table(['probe', 'connections', 'round', 'req/s', 'p50', 'p99', 'app CPU/req', 'PG CPU/req', 'load'], rows),
      '',
      table(['ceiling', 'connections', 'req/s', 'p99'], ceilingRows),
      '',
      `Sealing lag over the whole run (the service's \`audit_sealing_lag_seconds\`): p99 ${lag.p99} over ${num(lag.events)} events; ${num(Number(unsealed.n))} events unsealed when it ended.`,
      ...explained,
    ].join('\n');
    console.log(markdown);
    if (options.write) writeSection('write-throughput', markdown);
  } finally {
    await env.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runWriteThroughput(parseOptions());
