#!/usr/bin/env node
// The `codex-scim` command. tsx compiles the TypeScript sources on the fly, so the command works
// from a checkout or an installed package without a build step.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The project's tsconfig, not whatever tsconfig.json the caller's working directory has.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/index.ts');
