import { cpus, loadavg } from 'node:os';
import { log } from './report.js';

// The benchmark shares a small machine with whatever else runs on it (test suites, builds).
// Before each measured section it waits, for a bounded time, until the machine is nearly idle,
// and it records the load it measured under, so a noisy number says so.

const CORES = cpus().length;

// Per section at most `perSectionMs`, and at most `budgetMs` over the whole run, so a machine that
// never settles costs a bounded delay.
const policy = { perSectionMs: 60_000, budgetMs: 10 * 60_000 };

export function configureQuiet(options: Partial<typeof policy>): void {
  Object.assign(policy, options);
}

export interface LoadNote {
  /** 1-minute load average when the section started and ended. */
  start: number;
  end: number;
}

/** Waits until the 1-minute load average is below `threshold` (default half the cores), within the policy's limits. */
export async function waitForQuiet(threshold = CORES * 0.5): Promise<number> {
  let load = loadavg()[0]!;
  const maxWaitMs = Math.min(policy.perSectionMs, policy.budgetMs);
  if (load < threshold || maxWaitMs <= 0) return load;
  log(`waiting for the machine to settle (load ${load.toFixed(2)}, want < ${threshold.toFixed(2)}, at most ${Math.round(maxWaitMs / 1000)} s)`);
  const started = Date.now();
  while (Date.now() - started < maxWaitMs) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    load = loadavg()[0]!;
    if (load < threshold) break;
  }
  policy.budgetMs -= Date.now() - started;
  if (load >= threshold) log(`still loaded (${load.toFixed(2)}); measuring anyway, the report notes it`);
  return load;
}

/** Runs a measured section after waiting for quiet, and returns its result with the load it ran under. */
export async function section<T>(name: string, work: () => Promise<T>, options: { quiet?: boolean } = {}): Promise<{ result: T; load: LoadNote }> {
  const start = options.quiet === false ? loadavg()[0]! : await waitForQuiet();
  log(`${name} (load ${start.toFixed(2)})`);
  const result = await work();
  return { result, load: { start, end: loadavg()[0]! } };
}

export function loadCell(load: LoadNote): string {
  return `${load.start.toFixed(1)}→${load.end.toFixed(1)}`;
}
