import fp from 'fastify-plugin';
import { startSealer, type SealOptions, type Sealer } from '../audit/sealer.js';
import type { Config } from '../config/index.js';

// Runs the audit sealer in this instance (src/audit/sealer.ts: instances coordinate through an
// advisory lock) and gives routes what they need to read the log: `seal()` before listing, and
// the options proofs and exports sign with.

declare module 'fastify' {
  interface FastifyInstance {
    auditLog: { seal: Sealer['seal']; options: SealOptions };
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const options: SealOptions = { origin: config.auditLog.origin, signer: config.auditLog.signer };
    let sealer: Sealer | undefined;
    const start = () =>
      (sealer ??= startSealer(app.db, { ...options, intervalMs: config.auditLog.sealIntervalMs, onError: (err) => app.log.warn({ err }, 'audit sealer pass failed; retrying') }));
    app.decorate('auditLog', { seal: () => start().seal(), options });
    app.addHook('onReady', async () => {
      start();
      if (!options.signer) app.log.warn('AUDIT_SIGNING_KEY_FILE is not set: audit checkpoints are sealed and provable but unsigned');
    });
    app.addHook('onClose', async () => sealer?.stop());
  },
  { name: 'audit-sealer', dependencies: ['database'] },
);
