import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProvisioningRecorder } from '../services/provisioning-health.service.js';

// Counts this instance's SCIM responses per client and outcome, and keeps its failing requests
// (src/services/provisioning-health.service.ts), adding them to the database every few seconds
// and at close.

declare module 'fastify' {
  interface FastifyInstance {
    provisioning: ProvisioningRecorder;
  }
}

const FLUSH_MS = 5_000;

export default fp(
  async (app) => {
    const recorder = new ProvisioningRecorder(app.db);
    app.decorate('provisioning', recorder);
    let timer: NodeJS.Timeout | undefined;
    const flush = () => recorder.flush().catch((err: unknown) => app.log.warn({ err }, 'provisioning figures not written; kept for the next flush'));
    app.addHook('onReady', async () => {
      timer = setInterval(() => void flush(), FLUSH_MS);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await flush();
    });
  },
  { name: 'provisioning-health', dependencies: ['database'] },
);

/**
 * The SCIM scope's onSend hook: one count per response of an authenticated client, and for a
 * failure its SCIM error (the body it is answered with) and the request's redacted body.
 */
export async function recordScimResponse(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const scim = request.scim;
  if (!scim) return payload; // unauthenticated: no workspace to count it for
  const status = reply.statusCode;
  let error: { scimType?: string; detail?: string } = {};
  if (status >= 400 && typeof payload === 'string') {
    try {
      error = JSON.parse(payload) as typeof error;
    } catch {
      error = {};
    }
  }
  request.server.provisioning.record({
    workspaceId: scim.workspaceId,
    tokenId: scim.audit.actor.id,
    status,
    scimType: typeof error.scimType === 'string' ? error.scimType : undefined,
    detail: typeof error.detail === 'string' ? error.detail : undefined,
    method: request.method,
    path: request.url.split('?')[0] ?? request.url,
    body: status >= 400 ? request.body : undefined,
  });
  return payload;
}
