import { Agent, request } from 'node:http';

// A minimal keep-alive HTTP client for sequential measurements: node:http with one reused socket,
// timed from the first byte written to the last byte read, so the client adds as little as
// possible to what is measured (fetch/undici adds its own stream machinery per request).

export interface HttpResult {
  status: number;
  bytes: number;
  ms: number;
  /** Only when asked for (keepBody); large bodies are counted and dropped. */
  body?: string;
  /** Newlines in the body (JSONL records), when asked for (countLines). */
  lines?: number;
}

export interface RequestOptions {
  keepBody?: boolean;
  countLines?: boolean;
  /** Give up (reject with a TimeoutError) after this long; default 120 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export const SCIM_JSON = 'application/scim+json';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export class BenchClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly authorization: string;

  constructor(
    readonly baseUrl: string,
    token: string,
    /** application/scim+json for SCIM, application/json for the admin API. */
    readonly contentType: string = SCIM_JSON,
  ) {
    this.authorization = `Bearer ${token}`;
  }

  /** `path` is relative to /scim/v2 unless it starts with /scim/ or /api/. */
  url(path: string): string {
    return path.startsWith('/scim/') || path.startsWith('/api/') ? `${this.baseUrl}${path}` : `${this.baseUrl}/scim/v2${path}`;
  }

  send(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpResult> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const headers: Record<string, string | number> = { authorization: this.authorization, accept: this.contentType, ...options.headers };
    if (payload) {
      headers['content-type'] = this.contentType;
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(this.url(path), { method, headers, agent: this.agent }, (res) => {
        let bytes = 0;
        let lines = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (options.keepBody) chunks.push(chunk);
          if (options.countLines) for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
        });
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          resolve({
            status: res.statusCode ?? 0,
            bytes,
            ms,
            ...(options.keepBody ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
            ...(options.countLines ? { lines } : {}),
          });
        });
        res.on('error', reject);
      });
      const timeoutMs = options.timeoutMs ?? 120_000;
      req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(`${method} ${path}: no answer within ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends and insists on one of the expected statuses; returns the parsed body when there is one. */
  async json<T = Record<string, unknown>>(method: string, path: string, body: unknown, expected: number[]): Promise<T> {
    const result = await this.send(method, path, body, { keepBody: true });
    if (!expected.includes(result.status)) {
      throw new Error(`${method} ${path} answered ${result.status}, expected ${expected.join('/')}: ${result.body?.slice(0, 500)}`);
    }
    return (result.body ? JSON.parse(result.body) : {}) as T;
  }

  destroy(): void {
    this.agent.destroy();
  }
}
