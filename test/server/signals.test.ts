import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createDb } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { DEFAULT_WORKSPACE, ensureWorkspace } from '../../src/repositories/workspaces.repository.js';
import { createScimToken } from '../../src/services/tokens.service.js';
import { TEST_ACTOR } from '../helpers/app.js';

// @dialect-independent: the process, not the database, is under test.
// SIGTERM to the whole process group, as systemd, a container runtime or Ctrl-C do: a request in
// flight completes, the server stops accepting and exits 0, through `npm start` (npm relays the
// signal once more) and through plain node on dist/.

const dataDir = mkdtempSync(join(tmpdir(), 'bridge-signals-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

async function scimToken(): Promise<string> {
  const handle = await createDb({ dataDir });
  try {
    await migrateToLatest(handle.db);
    const { workspace } = await ensureWorkspace(handle.db, DEFAULT_WORKSPACE);
    return (await createScimToken(handle.db, { workspaceId: workspace.id }, TEST_ACTOR)).token;
  } finally {
    await handle.close();
  }
}

/** Starts the server in a process group of its own; resolves with its port once it listens. */
function start(command: string, args: string[]): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(command, args, { detached: true, env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      if (port) resolve({ child, port: Number(port), exited });
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${out}`)));
  });
}

/** Sends a request's head and half its body now; `finish` sends the rest and reads the status. */
function requestInFlight(port: number, token: string): Promise<{ finish(): Promise<number> }> {
  const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `signal-${Date.now()}@example.com` });
  const socket = connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(`POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 20)}`);
      resolve({
        async finish() {
          socket.write(body.slice(20));
          await ended;
          return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
        },
      });
    });
  });
}

const launchers: Array<[string, string, string[]]> = [
  ['node dist/src/server.js', process.execPath, ['dist/src/server.js']],
  // --ignore-scripts skips prestart (npm test has just built dist/), not start itself.
  ['npm start', 'npm', ['start', '--silent', '--ignore-scripts']],
];

t.test('SIGTERM to the process group drains the request in flight and exits 0', async (t) => {
  const token = await scimToken();
  for (const [name, command, args] of launchers) {
    const { child, port, exited } = await start(command, args);
    const inFlight = await requestInFlight(port, token);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server has the request's head
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300)); // npm's relayed signal arrives too
    t.equal(await inFlight.finish(), 201, `${name}: the request in flight completes`);
    t.equal(await exited, 0, `${name}: the process exits 0`);
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.on('error', () => resolve(true));
      probe.on('connect', () => (probe.destroy(), resolve(false)));
    });
    t.ok(refused, `${name}: nothing listens afterwards`);
  }
});
