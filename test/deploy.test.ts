import { readFileSync } from 'node:fs';
import t from 'tap';

// @dialect-independent: deployment files, read as text.
// No container engine runs on our machines, so the Dockerfile, the compose file and the systemd
// unit are checked here for what matters most: each starts the entry point `npm start` starts.

const read = (path: string) => readFileSync(path, 'utf8');
const start = JSON.parse(read('package.json')).scripts.start as string;
const entryPoint = start.replace(/^exec /, '');

t.test('npm start, the Dockerfile, compose and systemd all run the same entry point', async (t) => {
  t.equal(entryPoint, 'node dist/src/server.js', 'npm start runs plain node on the build');
  const dockerfile = read('Dockerfile');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  t.equal((JSON.parse(cmd ?? '[]') as string[]).join(' '), entryPoint, 'Dockerfile CMD');
  t.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m, 'under an init that forwards signals');
  t.match(dockerfile, /^USER node$/m, 'as a non-root user');
  t.match(dockerfile, /^HEALTHCHECK .*\/readyz/m, 'health-checked on /readyz');
  t.match(dockerfile, /^VOLUME \["\/data"\]$/m, 'DATA_DIR is a volume');
  t.match(dockerfile, /^ENV .*DATA_DIR=\/data/m);

  const compose = read('deploy/compose.yaml');
  t.equal((JSON.parse(/^\s+command: (\[.*\])$/m.exec(compose)?.[1] ?? '[]') as string[]).join(' '), entryPoint, 'compose command');
  t.match(compose, /^\s+init: true$/m);

  const unit = read('deploy/codex-scim-bridge.service');
  t.equal(/^ExecStart=\/usr\/bin\/(.*)$/m.exec(unit)?.[1], entryPoint, 'systemd ExecStart');
});
