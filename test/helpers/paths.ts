import { join } from 'node:path';

// Test files run compiled from .tmp/build/ (npm test) or as sources: files beside them that are
// not TypeScript (fixtures, bin/, dist/, the sources themselves) are found from the repository's
// root, the directory tests are always run from.

export const fromRoot = (...parts: string[]): string => join(process.cwd(), ...parts);
