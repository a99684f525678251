import type { FastifyBaseLogger } from 'fastify';

// Graceful close on SIGTERM and SIGINT. Written here rather than taken from close-with-grace:
// that library exits at once on a second signal, and a signal sent to the process group (what
// systemd, a container runtime or Ctrl-C in a terminal does to `npm start`) reaches the server
// twice, once directly and once relayed by npm, which dropped in-flight requests.

export interface ShutdownOptions {
  /** Longest wait for in-flight requests; past it the process exits 1. */
  graceMs: number;
  log: FastifyBaseLogger;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** On the first signal: run `close` (stop accepting, drain, close the database), then exit 0. */
export function closeOnSignals(close: () => Promise<void>, { graceMs, log }: ShutdownOptions): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log.info({ signal }, 'already closing; still waiting for in-flight requests');
      return;
    }
    closing = true;
    log.info({ signal, graceMs }, 'closing: no new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'in-flight requests outlasted the shutdown grace; exiting');
      process.exit(1);
    }, graceMs);
    close().then(
      () => {
        clearTimeout(timer);
        log.info('closed');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'closing failed');
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}
