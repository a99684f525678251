import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A webhook receiver on 127.0.0.1 that misbehaves on request: answers 500, stalls past the
// bridge's timeout, drops the connection, accepts after 200 ms ('slow'), or accepts. Every request it read is recorded, whatever
// it answered, so tests can tell deliveries from attempts.

export type Behaviour = 'ok' | 'slow' | '500' | 'stall' | 'drop';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: Behaviour;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** What the next requests get, in order; then `fallback` (default 'ok'). */
  script(behaviours: Behaviour[], fallback?: Behaviour | ((n: number) => Behaviour)): void;
  /** Ids of the requests answered 2xx, in the order they were accepted. */
  accepted(): string[];
  /** Resolves once `predicate` holds (checked on every request and every 20 ms). */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let queue: Behaviour[] = [];
  let fallback: Behaviour | ((n: number) => Behaviour) = 'ok';
  let count = 0;
  const received: Received[] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      count++;
      const answered = queue.shift() ?? (typeof fallback === 'function' ? fallback(count) : fallback);
      received.push({ id: String(req.headers['webhook-id']), headers: req.headers, body, answered });
      if (answered === 'ok') res.writeHead(204).end();
      else if (answered === 'slow') setTimeout(() => res.writeHead(204).end(), 200);
      else if (answered === '500') res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver is down for maintenance');
      else if (answered === 'drop') req.socket.destroy();
      else stalled.push(res); // never answered: the bridge's timeout must give up on it
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/codex`,
    received,
    script(behaviours, then = 'ok') {
      queue = [...behaviours];
      fallback = then;
    },
    accepted: () => received.filter((r) => r.answered === 'ok' || r.answered === 'slow').map((r) => r.id),
    async until(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met within ${timeoutMs} ms (${received.length} requests)`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const res of stalled) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
