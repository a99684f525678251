#!/usr/bin/env node
// The `codex-scim` command: the compiled CLI in dist/ (`npm install` builds it; `npm run build` after a change).
try {
  await import('../dist/src/cli/index.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/index.js')) {
    console.error('codex-scim: dist/ is missing; run `npm run build` (or `npm install`) first');
    process.exit(1);
  }
  throw error;
}
