import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { createDb, type Db, type DbHandle } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { DEFAULT_WORKSPACE, ensureWorkspace } from '../repositories/workspaces.repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export interface DatabasePluginOptions {
  config: Config;
  /** An already-open database (tests); the plugin then neither migrates nor closes it. */
  database?: DbHandle;
}

/** Opens the database, applies migrations and ensures the `default` workspace exists. */
export default fp<DatabasePluginOptions>(
  async (app, { config, database }) => {
    const handle = database ?? (await createDb(config));
    if (!database) {
      const applied = await migrateToLatest(handle.db);
      if (applied.length > 0) app.log.info({ migrations: applied }, 'applied migrations');
      await ensureWorkspace(handle.db, DEFAULT_WORKSPACE);
      app.addHook('onClose', () => handle.close());
    }
    app.decorate('db', handle.db);
  },
  { name: 'database' },
);
