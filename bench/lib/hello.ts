import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BenchClient } from './http.js';
import { cannon, type CannonResult } from './measure.js';

/** The machine's ceiling: autocannon against a Fastify hello-world in its own process (hello-process.ts). */
export async function helloWorld(connections: number, seconds: number): Promise<CannonResult> {
  const child = fork(fileURLToPath(new URL('./hello-process.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const address = await new Promise<string>((resolve) => child.on('message', (m: { address: string }) => resolve(m.address)));
    return await cannon(new BenchClient(address, 'none', 'application/json'), { connections, seconds, expect: [200], requestsFor: () => [{ method: 'GET', path: '/api/hello' }] });
  } finally {
    child.disconnect();
  }
}
