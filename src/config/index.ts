// The only module that reads process.env. Values are validated once and frozen; a bad value
// stops start-up with a message that names the variable.

import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { signerFromPrivateKey, type NoteSigner } from '../audit/signed-note.js';

/** dist/console beside dist/src/config/index.js. */
const DEFAULT_CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * A credential from the environment. It prints as [redacted] through String(), JSON.stringify and
 * util.inspect, so logging the config (or an object holding it) never reveals it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

/** Verification of admin JWTs from the company's OpenID Connect issuer (README "Admin API"). */
export interface OidcConfig {
  /** Expected `iss`, exactly as the IdP writes it. */
  readonly issuer: string;
  /**
   * Accepted `aud` values, any one of which a token must name: the API identifier its access
   * tokens carry and the client id its ID tokens carry (Codex clients may send either).
   */
  readonly audiences: readonly string[];
  readonly jwksUrl: string;
  /**
   * The IdP's client id of the browser console (a public SPA client, authorization code with
   * PKCE): the console offers IdP sign-in when set. Its ID tokens name it as `aud`, so it must
   * also be one of `audiences`.
   */
  readonly consoleClientId?: string;
  /** Name of the workspace whose SCIM users the tokens' subjects are matched against. */
  readonly workspace: string;
  /** Claim matched to users.external_id (Entra: `oid`; Okta: `sub` or `uid`). */
  readonly subjectClaim: string;
  /** Claim matched to userName or an email of the user. */
  readonly emailClaim: string;
  /** Display names of the SCIM groups that grant each admin role (case-insensitive). */
  readonly ownerGroups: readonly string[];
  readonly codexAdminGroups: readonly string[];
  readonly complianceGroups: readonly string[];
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** PostgreSQL connection string; undefined means the embedded PGlite database in dataDir. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Largest accepted request body in bytes (RFC 7644 §3.12 413 beyond it). */
  readonly bodyLimit: number;
  /** maxResults of ServiceProviderConfig.filter: the largest page a list request returns. */
  readonly maxResults: number;
  /** Public base URL used in meta.location; undefined means derive it from the request. */
  readonly publicUrl?: string;
  /** The built browser console (`npm run build` writes dist/console/), served at /console. */
  readonly consoleDir: string;
  /** Largest group whose PATCH response carries its members; larger ones answer 204 (README "Large groups"). */
  readonly maxInlineMembers: number;
  /** Requests a SCIM token may make per minute before 429 + Retry-After; 0 turns the limit off. */
  readonly scimRateLimitPerMinute: number;
  /**
   * HS256 key of the admin JWTs the bridge mints (`codex-scim token create --scope admin`);
   * undefined disables them. Shared by the service and the CLI, never stored in the database.
   */
  readonly adminJwtSecret?: Secret;
  /** Admin JWTs from the company's IdP; undefined disables them. */
  readonly oidc?: OidcConfig;
  /**
   * Days audit events are kept before the scheduled purge removes them (README "Audit"), for
   * workspaces without a retention setting of their own; undefined keeps everything.
   */
  readonly auditRetentionDays?: number;
  /** Longest wait for in-flight requests after SIGTERM/SIGINT before the process exits anyway. */
  readonly shutdownGraceSeconds: number;
  /**
   * Which peers' X-Forwarded-For/-Proto/-Host to believe (Fastify `trustProxy`): false, a number
   * of proxy hops, or addresses and CIDR ranges of the proxies.
   */
  readonly trustProxy: false | number | readonly string[];
  /** Bearer token a Prometheus scraper presents at /metrics on the service's port; unset: no /metrics there. */
  readonly metricsToken?: Secret;
  /** A separate, credential-free /metrics listener (loopback by default); unset: none. */
  readonly metricsPort?: number;
  readonly metricsHost: string;
  /** OAuth 2.0 client credentials for SCIM clients (POST /oauth/token); undefined: off. */
  readonly oauth?: { readonly signingKey: Secret; readonly alg: OAuthAlgorithm; readonly tokenTtlSeconds: number; readonly rateLimitPerMinute: number };
  /** Serve HTTPS directly with this certificate chain and key (PEM), read at start. */
  readonly tls?: { readonly cert: string; readonly key: Secret };
  /** The audit log's checkpoints: their origin prefix, and the signed-note key that signs them (unsigned without one). */
  readonly auditLog: { readonly origin: string; readonly signer?: NoteSigner; readonly sealIntervalMs: number };
  readonly webhooks: WebhookConfig;
}

/** Delivery of signed change webhooks (README "Webhooks"). */
export interface WebhookConfig {
  /**
   * Hosts (names, IPs or CIDRs) that may be reached over http and at private addresses. Everyone
   * else: https, and an address refused when DNS resolves it into a private or link-local range.
   */
  readonly allowHosts: readonly string[];
  /** Connecting, and then the whole answer, each bounded by this. */
  readonly timeoutMs: number;
  /** Failing deliveries are retried with exponential backoff (first delay, cap) for this long, then the endpoint is disabled. */
  readonly retryForMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How often an idle worker looks for work another instance queued (this one's own commits wake it at once). */
  readonly pollIntervalMs: number;
}

export class ConfigError extends Error {}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw.replace(/\/+$/, '');
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  return raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

const MIN_SECRET_LENGTH = 32;

/** A shared secret from the environment, long enough not to be guessed (e.g. openssl rand -base64 48). */
function secret(env: Env, name: string): Secret | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  // For ADMIN_JWT_SECRET, RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
  if (raw.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`${name} must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 48)`);
  }
  return new Secret(raw);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function oidc(env: Env): OidcConfig | undefined {
  const names = ['OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_JWKS_URL'] as const;
  const given = names.filter((n) => env[n] !== undefined && env[n] !== '');
  if (given.length === 0) return undefined;
  const missing = names.filter((n) => !given.includes(n));
  if (missing.length > 0) throw new ConfigError(`${missing.join(' and ')} must be set together with ${given.join(' and ')}`);
  const jwksUrl = url(env, 'OIDC_JWKS_URL', ['https:', 'http:'])!;
  // Keys fetched over plain HTTP could be swapped by anyone on the path; only loopback may use it.
  const parsed = new URL(jwksUrl);
  if (parsed.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    throw new ConfigError('OIDC_JWKS_URL must use https: (http: is accepted only for a loopback address)');
  }
  const audiences = list(env, 'OIDC_AUDIENCE', []);
  if (audiences.length === 0) throw new ConfigError('OIDC_AUDIENCE must name at least one audience');
  const consoleClient = env.OIDC_CONSOLE_CLIENT_ID;
  if (consoleClient && !audiences.includes(consoleClient)) throw new ConfigError('OIDC_CONSOLE_CLIENT_ID must also be listed in OIDC_AUDIENCE: the console signs in with its ID tokens');
  return Object.freeze({
    issuer: env.OIDC_ISSUER!,
    audiences: Object.freeze(audiences),
    jwksUrl,
    workspace: env.OIDC_WORKSPACE || 'default',
    subjectClaim: env.OIDC_SUBJECT_CLAIM || 'sub',
    emailClaim: env.OIDC_EMAIL_CLAIM || 'email',
    ownerGroups: Object.freeze(list(env, 'OIDC_OWNER_GROUPS', [])),
    codexAdminGroups: Object.freeze(list(env, 'OIDC_CODEX_ADMIN_GROUPS', ['codex-admins'])),
    complianceGroups: Object.freeze(list(env, 'OIDC_COMPLIANCE_GROUPS', [])),
    consoleClientId: env.OIDC_CONSOLE_CLIENT_ID || undefined,
  });
}

/** An IP address or a host name (RFC 1123); a dotted quad out of range is neither. */
function host(env: Env): string {
  const raw = env.HOST || '127.0.0.1';
  const bare = raw.replace(/^\[(.*)\]$/, '$1');
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
  const hostname = bare.length <= 253 && bare.split('.').every((l) => label.test(l)) && !/^\d+$/.test(bare.split('.').pop()!);
  if (isIP(bare) === 0 && !hostname) {
    throw new ConfigError(`HOST must be an IP address or a host name to listen on (0.0.0.0 for every interface), got ${JSON.stringify(raw)}`);
  }
  return bare;
}

function trustProxy(env: Env): Config['trustProxy'] {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 1, 100);
  const entries = list(env, 'TRUST_PROXY', []);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (family === 0 || !validBits || extra !== undefined) {
      throw new ConfigError(`TRUST_PROXY must be a hop count or a comma-separated list of proxy addresses or CIDR ranges, got ${JSON.stringify(entry)}`);
    }
  }
  return Object.freeze(entries);
}

function readPem(env: Env, name: string): string {
  try {
    return readFileSync(env[name]!, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (${env[name]})`);
  }
}

function tls(env: Env): Config['tls'] {
  const cert = env.TLS_CERT_FILE || undefined;
  const key = env.TLS_KEY_FILE || undefined;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  const pem = { cert: readPem(env, 'TLS_CERT_FILE'), key: readPem(env, 'TLS_KEY_FILE') };
  // Refuse a swapped or mismatched pair at start rather than at the first handshake.
  try {
    createSecureContext(pem);
  } catch (error) {
    throw new ConfigError(`TLS_CERT_FILE and TLS_KEY_FILE are not a matching PEM certificate and key: ${(error as Error).message}`);
  }
  return Object.freeze({ cert: pem.cert, key: new Secret(pem.key) });
}

/** The JWS algorithm that goes with the signing key: the key's type decides it. */
export type OAuthAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

function oauth(env: Env): Config['oauth'] {
  if (!env.OAUTH_SIGNING_KEY_FILE) return undefined;
  const pem = readPem(env, 'OAUTH_SIGNING_KEY_FILE');
  let alg: OAuthAlgorithm;
  try {
    const key = createPrivateKey(pem);
    const type = key.asymmetricKeyType;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (type === 'ec' && curve === 'prime256v1') alg = 'ES256';
    else if (type === 'rsa') alg = 'RS256';
    else if (type === 'ed25519') alg = 'EdDSA';
    else throw new Error(`a ${type}${curve ? ` ${curve}` : ''} key`);
  } catch (error) {
    throw new ConfigError(`OAUTH_SIGNING_KEY_FILE must hold a PEM private key, EC P-256, RSA or Ed25519: ${(error as Error).message}`);
  }
  return Object.freeze({
    signingKey: new Secret(pem),
    alg,
    tokenTtlSeconds: integer(env, 'OAUTH_TOKEN_TTL_SECONDS', 3600, 60, 86400),
    rateLimitPerMinute: integer(env, 'OAUTH_RATE_LIMIT_PER_MINUTE', 60, 1, 100000),
  });
}

function auditLog(env: Env): Config['auditLog'] {
  const origin = env.AUDIT_LOG_ORIGIN || 'codex-scim-bridge';
  if (/\s/.test(origin) || origin.includes('+')) throw new ConfigError('AUDIT_LOG_ORIGIN must not contain spaces or "+" (it names the log in every checkpoint)');
  let signer: NoteSigner | undefined;
  if (env.AUDIT_SIGNING_KEY_FILE) {
    const text = readPem(env, 'AUDIT_SIGNING_KEY_FILE');
    try {
      signer = signerFromPrivateKey(text);
    } catch (error) {
      throw new ConfigError(`AUDIT_SIGNING_KEY_FILE must hold a signed-note Ed25519 private key (codex-scim audit keygen writes one): ${(error as Error).message}`);
    }
  }
  return Object.freeze({ origin, signer, sealIntervalMs: integer(env, 'AUDIT_SEAL_INTERVAL_MS', 200, 10, 60_000) });
}

const HOUR_MS = 3_600_000;

function webhooks(env: Env): WebhookConfig {
  return Object.freeze({
    allowHosts: Object.freeze(list(env, 'WEBHOOK_ALLOW_HOSTS', []).map((h) => h.toLowerCase())),
    timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    retryForMs: integer(env, 'WEBHOOK_RETRY_FOR_MS', 24 * HOUR_MS, 1000, 30 * 24 * HOUR_MS),
    retryBaseMs: 5_000,
    retryMaxMs: HOUR_MS,
    pollIntervalMs: integer(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000, 10, 60_000),
  });
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
  }
  return Object.freeze({
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: host(env),
    // The URL is never echoed in errors: it may carry a password.
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.DATA_DIR || './data',
    logLevel,
    bodyLimit: integer(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxResults: integer(env, 'SCIM_MAX_RESULTS', 1000, 1, 100000),
    publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:']),
    consoleDir: env.CONSOLE_DIR || DEFAULT_CONSOLE_DIR,
    maxInlineMembers: integer(env, 'SCIM_PATCH_MEMBER_LIMIT', 1000, 0, 1000000),
    // Entra requires at least 25 requests/s per tenant and honours 429 + Retry-After.
    scimRateLimitPerMinute: integer(env, 'SCIM_RATE_LIMIT_PER_MINUTE', 6000, 0, 10_000_000),
    adminJwtSecret: secret(env, 'ADMIN_JWT_SECRET'),
    oidc: oidc(env),
    // Unset or 0: keep everything. At most 100 years.
    auditRetentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 0, 0, 36500) || undefined,
    shutdownGraceSeconds: integer(env, 'SHUTDOWN_GRACE_SECONDS', 10, 1, 3600),
    trustProxy: trustProxy(env),
    metricsToken: secret(env, 'METRICS_TOKEN'),
    metricsPort: integer(env, 'METRICS_PORT', 0, 1, 65535) || undefined,
    metricsHost: env.METRICS_HOST || '127.0.0.1',
    tls: tls(env),
    oauth: oauth(env),
    auditLog: auditLog(env),
    webhooks: webhooks(env),
  });
}

/** A config for tests and tools: defaults plus overrides, validated the same way. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...loadConfig({}), logLevel: 'silent', ...overrides });
}
