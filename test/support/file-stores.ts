import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type FileStore, type FileStoreOptions, fileStore } from '../../src/node.js';

/**
 * Temp directories and the file stores opened on them, closed and removed after each test.
 * (A test file's own afterEach hooks registered later run before this one.)
 */
export function useFileStores(prefix: string) {
  const dirs: string[] = [];
  const stores: FileStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return {
    async tempDir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    open(dir: string, options?: FileStoreOptions): FileStore {
      const store = fileStore(dir, options);
      stores.push(store);
      return store;
    },
  };
}

/**
 * Looks until a look needs no listing: a directory changed moments ago is listed on every look,
 * until its stamp is old enough to trust (view.ts). Waits on that, not on a clock.
 */
export async function untilListingTrusted(store: FileStore): Promise<void> {
  for (let looks = 0; looks < 100_000; looks++) {
    const before = store.stats().listings;
    await store.list();
    if (store.stats().listings === before) return;
  }
  throw new Error('the directory listing was never trusted');
}
