// The only module that reads process.env. Values are validated once and frozen; a bad value
// stops start-up with a message that names the variable.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

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
  /** Largest group whose PATCH response carries its members; larger ones answer 204 (README "Large groups"). */
  readonly maxInlineMembers: number;
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

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
  }
  return Object.freeze({
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    // The URL is never echoed in errors: it may carry a password.
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.DATA_DIR || './data',
    logLevel,
    bodyLimit: integer(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxResults: integer(env, 'SCIM_MAX_RESULTS', 1000, 1, 100000),
    publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:']),
    maxInlineMembers: integer(env, 'SCIM_PATCH_MEMBER_LIMIT', 1000, 0, 1000000),
  });
}

/** A config for tests and tools: defaults plus overrides, validated the same way. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...loadConfig({}), logLevel: 'silent' as LogLevel, ...overrides });
}
