import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { runRetention } from '../services/audit-retention.service.js';

// The scheduled audit purge. A plain timer rather than a scheduler library: one job,
// hourly, idempotent, needing no cron syntax, persistence or catch-up — a missed hour is simply
// done by the next run. Several service instances may run it at once: each purge batch holds the
// workspace's log row, so the second finds nothing left to purge.
//
// setTimeout re-armed after each run (never setInterval), so runs cannot overlap; unref'd, so the
// timer alone never keeps a process alive; cleared on close, which also waits for a run in flight
// before the database plugin closes the pool.

export const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** The first run comes a little after start-up, not during it. */
export const FIRST_PURGE_DELAY_MS = 5 * 60 * 1000;

export interface AuditRetentionOptions {
  config: Config;
  intervalMs?: number;
  firstDelayMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs the retention purge now (the same job the timer runs); resolves when it is done. */
    runAuditRetention(): Promise<void>;
  }
}

export default fp<AuditRetentionOptions>(
  async (app, { config, intervalMs = PURGE_INTERVAL_MS, firstDelayMs = FIRST_PURGE_DELAY_MS }) => {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let closing = false;

    const run = async (): Promise<void> => {
      const started = Date.now();
      try {
        const result = await runRetention(app.db, { serviceDays: config.auditRetentionDays, seal: app.auditLog.options });
        for (const p of result.purged) {
          app.log.info({ workspaceId: p.workspaceId, deleted: p.deleted, cutoff: p.cutoff.toISOString(), ms: Date.now() - started }, 'audit retention purge');
        }
        for (const f of result.failed) app.log.error({ workspaceId: f.workspaceId, err: f.error }, 'audit retention purge refused');
      } catch (err) {
        app.log.error({ err }, 'audit retention purge failed');
      }
    };

    const runOnce = (): Promise<void> => {
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    };

    const arm = (delay: number): void => {
      if (closing) return;
      timer = setTimeout(() => {
        void runOnce().then(() => arm(intervalMs));
      }, delay);
      timer.unref();
    };

    app.decorate('runAuditRetention', runOnce);
    app.addHook('onReady', async () => arm(firstDelayMs));
    app.addHook('onClose', async () => {
      closing = true;
      if (timer) clearTimeout(timer);
      await running;
    });
  },
  { name: 'audit-retention', dependencies: ['database', 'audit-sealer'] },
);
