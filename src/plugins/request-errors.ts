import type { FastifyReply, FastifyRequest } from 'fastify';

// Errors the SCIM and admin error handlers tell apart from a server bug before answering 500:
// - the database cannot be reached: an outage to wait out, answered 503 with Retry-After (Okta
//   and Entra retry on 503 and honour it), not a failed query;
// - the client went away mid-response (an IdP timing out on a large group GET): nobody is left to
//   answer, and it is the client's doing, so it is logged at info, not as an error.

/** Socket and DNS failures of the connection itself. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/** SQLSTATEs of a server that is going away, starting up or full (class 08: connection exception). */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/** What node-postgres throws when a connection ends or the pool's connect timeout passes. */
const DRIVER_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /^Client has encountered a connection error/];

/** Seconds a client is told to wait in Retry-After while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08'))) return true;
  if (DRIVER_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  // Node reports a refused connection to every address of a host as one AggregateError.
  return error instanceof AggregateError && error.errors.some(isDatabaseUnavailable);
}

export const DATABASE_UNAVAILABLE = 'The database is unavailable; retry after the time in Retry-After';

/** Sets Retry-After and logs the outage once per request, as a warning with the driver's reason. */
export function unavailable(request: FastifyRequest, reply: FastifyReply, error: Error): void {
  reply.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  request.log.warn({ reason: error.message }, 'database unavailable');
}

/**
 * True when the client closed the connection before the response was complete. The response and
 * its socket tell, not the request: a request stream is destroyed as soon as its body has been
 * read, while the client still waits for the answer.
 */
export function clientClosed(request: FastifyRequest, reply: FastifyReply, error: Error): boolean {
  return (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE' || reply.raw.destroyed || request.raw.socket?.destroyed === true;
}

export function logClientClosed(request: FastifyRequest, error: Error): void {
  request.log.info({ reason: error.message }, 'the client closed the connection before the response was complete');
}
