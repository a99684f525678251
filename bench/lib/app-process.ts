import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createDb } from '../../src/db/index.js';

// The service under test, in a process of its own (forked by environment.ts): the load generator
// and the server do not share an event loop, as they would not in production. It builds the real
// app with the same factory as src/server.ts and tests, on the benchmark's PostgreSQL database.

type ParentMessage = { type: 'stats'; gc?: boolean } | { type: 'close' };

// argv[2]: the service's environment variables as JSON (DATABASE_URL and whatever the benchmark sets).
const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const databaseUrl = env.DATABASE_URL;
if (!databaseUrl || !process.send) {
  console.error('usage: forked by bench/lib/environment.ts with the service environment as JSON');
  process.exit(2);
}

const handle = await createDb({ databaseUrl, dataDir: '' });
// Configured as an operator would, through the documented variables (and nothing else from this
// process's environment). The per-token rate limit is off: the benchmark measures the service,
// not the limiter, and its sequential GETs exceed the default 6,000 requests a minute.
const config = loadConfig({ LOG_LEVEL: 'silent', SCIM_RATE_LIMIT_PER_MINUTE: '0', ...env });
const app = await buildApp(config, { database: handle });
const address = await app.listen({ host: '127.0.0.1', port: 0 });

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

async function close(code: number): Promise<never> {
  clearInterval(sampler);
  await app.close().catch(() => undefined);
  await handle.close().catch(() => undefined);
  process.exit(code);
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stats') {
    // Peak since the last question: the caller brackets a measurement with two of them.
    const cpu = process.cpuUsage();
    // Forked with --expose-gc: the heap that survives a full collection is what is really kept.
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const heapAfterGc = message.gc ? process.memoryUsage().heapUsed : NaN;
    process.send!({ type: 'stats', rss: process.memoryUsage().rss, peakRss, cpuMs: (cpu.user + cpu.system) / 1000, heapAfterGc });
    peakRss = process.memoryUsage().rss;
  } else if (message.type === 'close') {
    void close(0);
  }
});
// A benchmark that dies must not leave its server behind.
process.on('disconnect', () => void close(1));

process.send({ type: 'listening', address });
