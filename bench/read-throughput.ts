import { loadavg } from 'node:os';
import { isMain, parseOptions, type BenchOptions } from './lib/cli.js';
import { startEnvironment, withCpu } from './lib/environment.js';
import { BenchClient } from './lib/http.js';
import { helloWorld } from './lib/hello.js';
import { cannon, sequential, type BenchRequest } from './lib/measure.js';
import { createToken } from '../src/services/tokens.service.js';
import { codeLine, log, machineLine, ms, num, table, writeSection } from './lib/report.js';
import { addAllUsers, analyze, createGroup, seedUsers } from './lib/seed.js';
import { recomputeAccess } from '../src/repositories/effective-access.repository.js';

// SCIM reads at an in-memory peer's speed. PostgreSQL (the test cluster's settings:
// reads do not flush), autocannon with 1 and 10 connections, 1,000 users, rate limit off, a
// Fastify hello-world in the same run as the ceiling. Run: `npx tsx bench/read-throughput.ts`.

const USERS = 1_000;


export async function runReadThroughput(options: BenchOptions): Promise<void> {
  const env = await startEnvironment('read-throughput', { durable: options.durable });
  const seconds = options.quick ? 3 : 10;
  const rounds = options.quick ? 1 : 2;
  const rows: (string | number)[][] = [];
  try {
    const users = await seedUsers(env.db, env.workspaceId, USERS);
    // A group the recommended model maps to a role, and every user's stored access computed, as
    // on a live system: decisions then explain a role held through a group and mapping.
    const group = await createGroup(env.scim, 'codex-local-users');
    await addAllUsers(env.db, env.workspaceId, group);
    await recomputeAccess(env.db, env.workspaceId, 'workspace');
    await analyze(env.db);
    log(`seeded ${num(USERS)} users and a group of all of them`);
    // Decisions, asked with a decision token as a gateway would.
    const { token: decisionToken } = await createToken(env.db, { workspaceId: env.workspaceId, scope: 'decision', description: 'bench' }, { type: 'system', id: 'bench' });
    const decider = new BenchClient(env.baseUrl, decisionToken, 'application/json');
    const probes: Array<{ name: string; client?: BenchClient; requests: (c: number) => BenchRequest[] }> = [
      { name: 'GET /Users/{id}', requests: (c) => [{ method: 'GET', path: `/Users/${users[c * 37]!}` }] },
      { name: 'GET /Users?filter=userName eq', requests: (c) => [{ method: 'GET', path: `/Users?filter=${encodeURIComponent(`userName eq "bench.user.${c * 37 + 1}@example.com"`)}` }] },
      { name: 'GET /Users?count=100', requests: () => [{ method: 'GET', path: '/Users?count=100' }] },
      { name: 'GET /Groups/{id}?excludedAttributes=members', requests: () => [{ method: 'GET', path: `/Groups/${group}?excludedAttributes=members` }] },
      { name: 'POST /api/v1/decisions (one user, all permissions)', client: decider, requests: (c) => [{ method: 'POST', path: '/api/v1/decisions', body: { users: [users[c * 37]!] } }] },
    ];
    for (let round = 1; round <= rounds; round++) {
      for (const connections of [1, 10]) {
        const hello = await helloWorld(connections, seconds);
        rows.push([`hello-world (ceiling)`, connections, round, num(hello.stats.rps), ms(hello.stats.p50), ms(hello.stats.p99), '–', '–', loadavg()[0]!.toFixed(1)]);
        for (const probe of probes) {
          const load = loadavg()[0]!;
          const { result, cpu } = await withCpu(env, () => cannon(probe.client ?? env.scim, { connections, seconds, expect: [200], requestsFor: probe.requests }));
          const n = result.stats.n || 1;
          rows.push([probe.name, connections, round, num(result.stats.rps), ms(result.stats.p50), ms(result.stats.p99), ms(cpu.appMs / n, 2), ms(cpu.pgMs / n, 2), load.toFixed(1)]);
          log(`round ${round}, ${connections} connections, ${probe.name}: ${num(result.stats.rps)} req/s`);
        }
      }
    }
    const batch = (await sequential(decider, { iterations: options.quick ? 5 : 30, warmup: 3, expect: [200], build: () => ({ method: 'POST', path: '/api/v1/decisions', body: { users } }) })).get('all')!;
    log(`1,000-user decision batch: p50 ${ms(batch.p50)}`);
    const markdown = [
      '### Read throughput (issue 12)',
      '',
      machineLine(env),
      codeLine(),
      `Each probe runs ${seconds} s per round, ${num(USERS)} users; the group (codex-local-users, mapped to a role) holds all of them.`,
      '',
      table(['probe', 'connections', 'round', 'req/s', 'p50', 'p99', 'app CPU/req', 'PG CPU/req', 'load'], rows),
      '',
      `A decision batch of all ${num(USERS)} users (every permission each), one request at a time: p50 ${ms(batch.p50)}, p95 ${ms(batch.p95)}, max ${ms(batch.max)} over ${batch.n} requests.`,
    ].join('\n');
    console.log(markdown);
    if (options.write) writeSection('read-throughput', markdown);
  } finally {
    await env.close();
  }
}

if (isMain(import.meta.url)) await runReadThroughput(parseOptions());
