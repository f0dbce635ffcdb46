/** How long the temp file system takes to make a small record durable: the floor under any journal. */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface DiskSamples {
  /** Append a record, then fdatasync: what the file journal does per group commit. */
  datasync: number[];
  /** Append a record, then fsync: what the naive baseline does per intent file. */
  fsync: number[];
  /** Open the directory, fsync, close: what a new file name costs. */
  dirSync: number[];
}

export const emptySamples = (): DiskSamples => ({ datasync: [], fsync: [], dirSync: [] });

/** A record about the size of one journaled intent. */
const RECORD = Buffer.alloc(512, 'x');

/** Adds `count` samples of each kind, taken in turn so that drift in the disk's speed hits them alike. */
export async function sampleDisk(scratch: string, count: number, into: DiskSamples): Promise<void> {
  const dir = await mkdtemp(join(scratch, 'disk-'));
  const file = await open(join(dir, 'records'), 'w', 0o600);
  let position = 0;
  const append = async (sync: () => Promise<void>): Promise<number> => {
    const start = performance.now();
    await file.write(RECORD, 0, RECORD.length, position);
    position += RECORD.length;
    await sync();
    return performance.now() - start;
  };
  try {
    for (let i = 0; i < count; i++) {
      into.datasync.push(await append(() => file.datasync()));
      into.fsync.push(await append(() => file.sync()));
      const start = performance.now();
      const handle = await open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      into.dirSync.push(performance.now() - start);
    }
  } finally {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  }
}
