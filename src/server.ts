import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { DataDirLockedError } from './db/pglite-lock.js';

// Entry point only: configuration, the app, listen, and a graceful close on signals.
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp(config);
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an unexpected error');
    else app.log.info({ signal }, 'closing');
    await app.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    console.error(`codex-scim-bridge: ${error.message}`);
  } else {
    console.error('codex-scim-bridge failed to start:', error);
  }
  process.exit(1);
});
