import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { DataDirLockedError } from './db/pglite-lock.js';
import { startMetricsServer } from './plugins/metrics.js';
import { closeOnSignals } from './shutdown.js';

// Entry point only: configuration, the app, listen, and a graceful close on signals.
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp(config);
  const metrics = config.metricsPort ? await startMetricsServer(config.metricsPort, config.metricsHost) : undefined;
  if (metrics) app.log.info({ port: metrics.port, host: config.metricsHost }, 'metrics listening');
  closeOnSignals(async () => {
    await app.close();
    await metrics?.close();
  }, { graceMs: config.shutdownGraceSeconds * 1000, log: app.log });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code && LISTEN_ERRORS.has(code)) throw new ConfigError(`cannot listen on HOST=${config.host} PORT=${config.port}: ${code}`);
    throw error;
  }
}

// What listen() reports for a bad HOST or PORT: in use, not an address of this machine, a
// privileged port, a name that does not resolve.
const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    console.error(`codex-scim-bridge: ${error.message}`);
  } else {
    console.error('codex-scim-bridge failed to start:', error);
  }
  process.exit(1);
});
