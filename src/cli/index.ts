// Entry point of the `codex-scim` command (bin/codex-scim.js, `npm run cli -- ...`).
import { loadConfig } from '../config/index.js';
import { runCli } from './program.js';

// `codex-scim token list | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await runCli(process.argv.slice(2), { io: { stdout: process.stdout, stderr: process.stderr }, loadConfig });
// Everything is closed by now; a handle leaked by a driver must not keep a script waiting forever.
setTimeout(() => process.exit(), 10_000).unref();
