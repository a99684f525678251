import autocannon from 'autocannon';
import type { BenchClient, HttpResult } from './http.js';

// Latency statistics from exact per-request samples (no histogram bucketing), a sequential loop
// for precise single-client latency, and an autocannon wrapper for concurrent load.

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /** Completed requests per second of wall time. */
  rps: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank: the smallest sample with at least p% of samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function stats(samples: number[], wallMs: number): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    rps: wallMs > 0 ? (sorted.length * 1000) / wallMs : NaN,
  };
}

export interface BenchRequest {
  method: string;
  path: string;
  /** A function is called for every request sent (a POST that must not repeat itself). */
  body?: unknown;
}

/**
 * Sends `iterations` requests one after another (after `warmup` unmeasured ones), each built by
 * `build(i)`, and returns the latencies grouped by `label(i)`. Fails on an unexpected status, so a
 * benchmark never reports the speed of an error.
 */
export async function sequential(
  client: BenchClient,
  options: { iterations: number; warmup?: number; build: (i: number) => BenchRequest; label?: (i: number) => string; expect: number[] },
): Promise<Map<string, LatencyStats>> {
  const label = options.label ?? (() => 'all');
  const warmup = options.warmup ?? 0;
  const samples = new Map<string, number[]>();
  const wall = new Map<string, number>();
  for (let i = 0; i < warmup + options.iterations; i++) {
    const req = options.build(i);
    const result: HttpResult = await client.send(req.method, req.path, req.body, { keepBody: false });
    if (!options.expect.includes(result.status)) {
      const again = await client.send(req.method, req.path, req.body, { keepBody: true });
      throw new Error(`${req.method} ${req.path} answered ${result.status} (then ${again.status}: ${again.body?.slice(0, 300)})`);
    }
    if (i < warmup) continue;
    const key = label(i);
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key)!.push(result.ms);
    wall.set(key, (wall.get(key) ?? 0) + result.ms);
  }
  // Per label, rps is 1000 / mean latency: the label's requests were interleaved with others.
  return new Map([...samples].map(([key, values]) => [key, stats(values, wall.get(key)!)]));
}

export interface CannonResult {
  stats: LatencyStats;
  statuses: Record<number, number>;
  errors: number;
  timeouts: number;
  bytesPerRequest: number;
}

/**
 * autocannon against one server with `connections` keep-alive connections for `seconds`. Each
 * connection gets its own request sequence from `requestsFor(connectionIndex)` (cycled), so a
 * connection can alternate add/remove of a member no other connection touches. Latencies are
 * collected per response (exact percentiles; autocannon's own summary has no p95).
 */
export async function cannon(
  client: BenchClient,
  options: { connections: number; seconds: number; requestsFor: (connection: number) => BenchRequest[]; expect: number[] },
): Promise<CannonResult> {
  let nextConnection = 0;
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let bytes = 0;
  const encode = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
  const toRequest = (r: BenchRequest): autocannon.Request => ({
    method: r.method as autocannon.Request['method'],
    path: new URL(client.url(r.path)).pathname + new URL(client.url(r.path)).search,
    ...(typeof r.body === 'function'
      ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: encode((r.body as () => unknown)()) }) }
      : r.body === undefined
        ? {}
        : { body: encode(r.body) }),
  });
  const started = Date.now();
  let done!: (value: autocannon.Result) => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const instance = autocannon(
    {
      url: client.baseUrl,
      connections: options.connections,
      pipelining: 1,
      duration: options.seconds,
      timeout: 60,
      headers: { authorization: client.authorization, 'content-type': client.contentType, accept: client.contentType },
      // Overwritten per connection below; autocannon needs a non-empty sequence up front.
      requests: options.requestsFor(0).map(toRequest),
      setupClient: (c) => {
        c.setRequests(options.requestsFor(nextConnection++).map(toRequest));
      },
    },
    (error, result) => (error ? failed(error) : done(result)),
  );
  instance.on('response', (_client, statusCode, resBytes, responseTime) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    bytes += resBytes;
  });
  const result = await finished;
  const wallMs = Date.now() - started;
  const unexpected = Object.entries(statuses).filter(([code]) => !options.expect.includes(Number(code)));
  if (unexpected.length > 0 || result.errors > 0) {
    throw new Error(`autocannon: unexpected statuses ${JSON.stringify(statuses)}, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { stats: stats(latencies, wallMs), statuses, errors: result.errors, timeouts: result.timeouts, bytesPerRequest: latencies.length ? bytes / latencies.length : 0 };
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = process.hrtime.bigint();
  const result = await fn();
  return { result, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
