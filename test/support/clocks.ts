/**
 * Wall clocks that lie, for child processes: libfaketime (Debian's libfaketime, which npm test
 * installs) preloaded with an offset read from a file, so a test can step a running process's
 * clock by writing the file. The monotonic clock is left alone, as a real wall-clock step leaves it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

export interface FakeClock {
  /** The environment that puts a child process on this clock. */
  env: NodeJS.ProcessEnv;
  /** Moves the clock to `offset` from the real time (libfaketime's form: '+60s', '-3s', '+2d'). */
  set(offset: string): void;
}

/** A clock `offset` from the real time, kept in `dir`. */
export function fakeClock(dir: string, name: string, offset = '+0s'): FakeClock {
  const file = join(dir, `${name}.faketime`);
  const set = (to: string) => writeFileSync(file, `${to}\n`);
  set(offset);
  return {
    env: {
      ...process.env,
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
    set,
  };
}
