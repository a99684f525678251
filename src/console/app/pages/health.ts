import { api } from '../api.js';
import { lineChart } from '../chart.js';
import { h, show, table, when } from '../dom.js';
import type { Page } from '../main.js';

// Provisioning health: each SCIM client's requests per hour, errors by type, rate-limit
// rejections and the last failing requests (their bodies redacted by the service).

interface Health {
  tokens: Array<{ tokenId: string; description: string | null; requests: number; perHour: Array<{ hour: string; ok: number; failed: number; rateLimited: number }> }>;
  errors: Array<{ outcome: string; requests: number }>;
  rateLimited: number;
  recentFailures: Array<{ at: string; tokenId: string; method: string; path: string; status: number; scimType: string | null; detail: string; body: unknown }>;
}

export async function healthPage(page: Page): Promise<void> {
  const health = await api<Health>('/provisioning/health?hours=24');
  const errorsPerHour = new Map<string, number>();
  for (const token of health.tokens) for (const slot of token.perHour) errorsPerHour.set(slot.hour, (errorsPerHour.get(slot.hour) ?? 0) + slot.failed);
  show(
    page.main,
    h('h1', {}, 'Provisioning health'),
    h('p', {}, `Last 24 hours: ${health.tokens.reduce((n, t) => n + t.requests, 0)} SCIM requests from ${health.tokens.length} client(s); ${health.rateLimited} rate-limited.`),
    table('Requests per SCIM client', ['Client', 'Requests', 'Failed', 'Rate-limited'], health.tokens.map((t) => [t.description ?? t.tokenId, t.requests, t.perHour.reduce((n, s) => n + s.failed, 0), t.perHour.reduce((n, s) => n + s.rateLimited, 0)])),
    health.tokens.map((t) => lineChart(`Requests per hour from ${t.description ?? t.tokenId}`, { label: 'requests', points: t.perHour.map((s) => ({ date: s.hour, count: s.ok + s.failed + s.rateLimited })) })),
    lineChart('Provisioning errors per hour', { label: 'failed requests', points: [...errorsPerHour].map(([hour, count]) => ({ date: hour, count })) }),
    table('Errors by type', ['Error', 'Requests'], health.errors.map((e) => [e.outcome, e.requests])),
    table('The last failing requests', ['When', 'Request', 'Answer', 'Body (redacted)'], health.recentFailures.map((f) => [when(f.at), `${f.method} ${f.path}`, `${f.status}${f.scimType ? ` ${f.scimType}` : ''}: ${f.detail}`, h('code', {}, JSON.stringify(f.body))])),
  );
}
