import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { startWebhookWorker, type WebhookWorker } from '../webhooks/worker.js';

// Runs the webhook delivery worker in this instance (src/webhooks/worker.ts: instances share the
// work through leases in PostgreSQL), from ready to close.

export default fp<{ config: Config }>(
  async (app, { config }) => {
    let worker: WebhookWorker | undefined;
    app.addHook('onReady', async () => {
      worker = startWebhookWorker(app.db, config.webhooks, (err) => app.log.warn({ err }, 'webhook delivery pass failed; retrying'));
    });
    app.addHook('onClose', async () => worker?.stop());
  },
  { name: 'webhook-worker', dependencies: ['database'] },
);
