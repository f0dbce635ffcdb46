/**
 * What the journal directory's file names say, and who owns each file.
 *
 *     w-<host>-<pid>-<nonce>-<n>.log   segment n of one writer (one store instance); only that writer
 *                                      appends to it, and only to its highest n
 *     c-<host>-<pid>-<nonce>.log       a compaction's output: complete before it gets this name
 *     c-<host>-<pid>-<nonce>.tmp       a compaction's output being written; never read
 *     compact.lock                     held by the process compacting now (lock.ts)
 *
 * <host> identifies the machine and PID namespace, so that a PID is only ever judged alive or
 * dead by a process that can actually see it (containers sharing a volume each get their own).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export type FileKind = 'writer' | 'compacted';

export interface ParsedName {
  kind: FileKind;
  host: string;
  pid: number;
  /** `<host>-<pid>-<nonce>`: the writer, or the compaction that made the file. */
  owner: string;
  /** Segment number, for writer segments. */
  n: number;
}

const PATTERN = /^([wc])-([0-9a-f]{8})-(\d+)-([0-9a-f]{12})(?:-(\d+))?\.log$/;

export const LOCK_NAME = 'compact.lock';

export function parseName(name: string): ParsedName | undefined {
  const m = PATTERN.exec(name);
  if (!m) return undefined;
  const kind: FileKind = m[1] === 'w' ? 'writer' : 'compacted';
  if ((kind === 'writer') !== (m[5] !== undefined)) return undefined;
  const host = m[2]!;
  const pid = Number(m[3]);
  return { kind, host, pid, owner: `${host}-${pid}-${m[4]}`, n: m[5] === undefined ? 0 : Number(m[5]) };
}

export const isTempName = (name: string) => /^c-.*\.tmp$/.test(name) || /^compact\.lock\..*\.stale$/.test(name);

let cachedHost: string | undefined;

export function hostId(): string {
  if (cachedHost === undefined) {
    let pidNamespace = '';
    try {
      pidNamespace = readlinkSync('/proc/self/ns/pid');
    } catch {
      // Not Linux: the host name alone tells machines apart.
    }
    cachedHost = createHash('sha256').update(`${hostname()}\0${pidNamespace}`).digest('hex').slice(0, 8);
  }
  return cachedHost;
}

/** A fresh owner id for a writer or a compaction of this process. */
export function newOwnerId(): string {
  return `${hostId()}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

export const segmentName = (owner: string, n: number) => `w-${owner}-${n}.log`;
export const compactedName = (owner: string) => `c-${owner}.log`;
export const compactedTempName = (owner: string) => `c-${owner}.tmp`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True only when the owner is certainly gone: a process of this host and PID namespace that no
 * longer runs. A PID reused since, or a process we cannot see, counts as alive (the safe side:
 * its files are kept until the idleness rule in compact.ts applies).
 */
export function ownerGone(host: string, pid: number): boolean {
  return host === hostId() && pid !== process.pid && !pidAlive(pid);
}
