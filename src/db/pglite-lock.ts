import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/index.js';

export class DataDirLockedError extends Error {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Kernel file systems accept some writes and then hang or fail deep inside PGlite.
const VIRTUAL_ROOTS = ['/proc', '/sys', '/dev'];

/** Creates DATA_DIR when missing; refuses, naming the variable, one that cannot hold a database. */
function usableDataDir(dataDir: string): void {
  const full = resolve(dataDir);
  if (VIRTUAL_ROOTS.some((root) => full === root || full.startsWith(`${root}/`))) {
    throw new ConfigError(`DATA_DIR ${JSON.stringify(dataDir)} is on a kernel file system (${VIRTUAL_ROOTS.join(', ')}); choose a directory on disk`);
  }
  try {
    mkdirSync(full, { recursive: true });
    accessSync(full, constants.W_OK);
  } catch (error) {
    throw new ConfigError(`DATA_DIR ${JSON.stringify(dataDir)} cannot be used as the embedded database's directory: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * Takes an exclusive lock on the PGlite data directory, returning its release function.
 * A lock left behind by a process that no longer exists is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<() => void> {
  usableDataDir(dataDir);
  const lockPath = join(dataDir, '.bridge.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (!released) rmSync(lockPath, { force: true });
        released = true;
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockPath, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new DataDirLockedError(
          `The embedded database in ${dataDir} is in use by process ${owner} (the running service?). ` +
            'PGlite allows one process at a time: stop the service first, or run with DATABASE_URL pointing at PostgreSQL.',
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirLockedError(`Could not lock ${dataDir}`);
}
