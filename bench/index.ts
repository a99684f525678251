import { runAuditAndAccess } from './audit-and-access.js';
import { runDryRun } from './dry-run.js';
import { parseOptions } from './lib/cli.js';
import { log } from './lib/report.js';
import { runLargeGroups } from './large-groups.js';
import { runReadThroughput } from './read-throughput.js';
import { runWriteThroughput } from './write-throughput.js';

// `npm run bench` runs every benchmark, one after the other (each starts and stops its own
// PostgreSQL); `npm run bench -- large-groups --quick` runs the named ones with the given flags.

const BENCHMARKS = {
  'large-groups': runLargeGroups,
  'audit-and-access': runAuditAndAccess,
  'write-throughput': runWriteThroughput,
  'read-throughput': runReadThroughput,
  'dry-run': runDryRun,
} as const;
type Name = keyof typeof BENCHMARKS;

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
const options = parseOptions(args.filter((a) => a.startsWith('--')));
for (const name of (names.length > 0 ? names : Object.keys(BENCHMARKS)) as Name[]) {
  log(`=== ${name}`);
  await BENCHMARKS[name](options);
}
