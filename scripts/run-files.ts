import { pathToFileURL } from 'node:url';
import t from 'tap';

// Several light test files as one process (scripts/test.ts): each is imported in turn and adds its
// tests to tap's one root test, which runs them in order, so the process start, the app's imports
// and the first PGlite instance are paid once for all of them instead of once per file. The
// imports run inside a subtest of their own: a file's top-level awaits would otherwise leave the
// root's queue empty for a moment, and the root ends when it is.
void t.test('the batch of test files loads', async (t) => {
  for (const file of process.argv.slice(2)) {
    await import(pathToFileURL(file).href);
    t.pass(`loaded ${file}`);
  }
});
