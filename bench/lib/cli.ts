import { pathToFileURL } from 'node:url';

// Flags shared by every benchmark script.

export interface BenchOptions {
  /** Fewer iterations: a smoke run that checks the script, not a measurement. Never written to the README. */
  quick: boolean;
  /** PostgreSQL with fsync/synchronous_commit on (`--durable`) or, by default, the test cluster's settings. */
  durable: boolean;
  /** Rewrite this benchmark's section of bench/README.md (default unless --quick). */
  write: boolean;
  /** Print EXPLAIN ANALYZE of the statements behind the measured requests. */
  explain: boolean;
}

export function parseOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const known = new Set(['--quick', '--durable', '--no-write', '--explain']);
  const unknown = argv.filter((a) => a.startsWith('--') && !known.has(a));
  if (unknown.length > 0) {
    throw new Error(`unknown option ${unknown.join(' ')}; known: ${[...known].join(' ')}`);
  }
  const quick = argv.includes('--quick');
  return { quick, durable: argv.includes('--durable'), write: !quick && !argv.includes('--no-write'), explain: argv.includes('--explain') };
}

/** True when the module is the script tsx was started with (not imported by bench/index.ts). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}
