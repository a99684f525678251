import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (standardwebhooks.com) signatures: `v1,` + base64 HMAC-SHA256 over
// `${webhook-id}.${webhook-timestamp}.${body}`, keyed by the secret's base64 after `whsec_`.
// Signed here with node:crypto so that the tests can verify with the `standardwebhooks` package
// as an independent implementation, as receivers will.

const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** 32 random bytes: inside the 24–64 the specification asks for. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(secret: string, id: string, timestamp: Date, body: string): SignedHeaders {
  const seconds = String(Math.floor(timestamp.getTime() / 1000));
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': `v1,${signature}` };
}
