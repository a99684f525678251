import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config/index.js';
import { fromPglite } from '../src/db/index.js';
import { migrateToLatest } from '../src/db/migrate.js';

// `npm run openapi`: writes openapi/openapi.json from the route schemas. The app is
// the real one (buildApp) on a throwaway in-memory PGlite; test/openapi.test.ts fails when the
// committed file differs from what this produces.

// From the repository root (npm runs scripts there), whether this runs compiled or as source.
export const OPENAPI_FILE = join(process.cwd(), 'openapi', 'openapi.json');

/** The document as committed: two-space JSON with a trailing newline, in route registration order. */
export async function exportOpenApi(): Promise<string> {
  const handle = fromPglite(await PGlite.create());
  try {
    await migrateToLatest(handle.db);
    const app = await buildApp(testConfig(), { database: handle });
    try {
      await app.ready();
      return `${JSON.stringify(app.swagger(), null, 2)}\n`;
    } finally {
      await app.close();
    }
  } finally {
    await handle.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = await exportOpenApi();
  mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
  writeFileSync(OPENAPI_FILE, text);
  const paths = Object.keys((JSON.parse(text) as { paths: object }).paths).length;
  console.log(`wrote ${OPENAPI_FILE} (${paths} paths)`);
}
