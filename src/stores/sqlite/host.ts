/**
 * What processes sharing one SQLite file on one host have in common, and what the store's
 * ownership rests on: a clock none of them can step, and a way to see that an owner's process has
 * died.
 *
 * The clock is the host's monotonic clock (CLOCK_MONOTONIC on Linux: one for every process, never
 * stepped by NTP or an operator), read as epoch ms by adding an anchor the first process of each
 * boot writes into the file (schema.ts): every process of the boot reads the same instant, and it
 * reads close to the wall clock unless the wall clock was stepped since boot.
 *
 * An owner id carries its process's identity: the boot, the PID namespace, the PID and the
 * process's start time (so a PID reused by a later process is not mistaken for the owner). A
 * claimant on the same boot and in the same namespace looks the process up: gone, its intents are
 * taken at once; running, they are never taken, lease or no lease — a process starved of CPU past
 * its lease may still be sending, and the lease exists for owners that cannot be seen. A stopped
 * process (SIGSTOP, a debugger) and anything a claimant cannot judge — another host, another
 * container's namespace, a platform without /proc — are left to the lease: a live owner is never
 * taken for dead.
 *
 * The modules this file loads name their imports with `.ts`, as worker.ts explains.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, uptime } from 'node:os';

/** Milliseconds on the host's monotonic clock (since boot on Linux); the same in every process. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

interface ProcessIdentity {
  /**
   * This boot of this host: the kernel's boot_id on Linux; elsewhere the host name and the minute
   * it booted, as the wall clock puts it (a step of the wall clock can make two processes disagree).
   */
  boot: string;
  /** The PID namespace ('-' where there is none to read). */
  namespace: string;
  pid: number;
  /** When the process started, in clock ticks since boot ('-' where it cannot be read). */
  start: string;
}

let self: ProcessIdentity | undefined;

/** This process, as an owner id states it. */
export function thisProcess(): ProcessIdentity {
  self ??= {
    boot: readOr('/proc/sys/kernel/random/boot_id', () => `${hostname()}:${Math.round((Date.now() - uptime() * 1000) / 60_000)}`),
    namespace: linkOr('/proc/self/ns/pid'),
    pid: process.pid,
    start: startTime(process.pid) ?? '-',
  };
  return self;
}

/** The boot this process runs in: the key of the clock's anchor. */
export function bootId(): string {
  return thisProcess().boot;
}

/** An owner id for this process: a fresh name, and the identity a claimant checks. */
export function ownerId(name: string): string {
  const { boot, namespace, pid, start } = thisProcess();
  return `${name}@${[boot, namespace, pid, start].map((part) => encodeURIComponent(String(part))).join('/')}`;
}

/**
 * What a claimant can tell of the owner's process: `gone` (no process with its PID and start time
 * on this boot and namespace), `running` (it exists and is not stopped), or `unknown` (stopped, or
 * not for this claimant to judge).
 */
export function ownerProcess(owner: string): 'gone' | 'running' | 'unknown' {
  const at = owner.lastIndexOf('@');
  if (at < 0) return 'unknown';
  const parts = owner.slice(at + 1).split('/').map((part) => safeDecode(part));
  if (parts.length !== 4) return 'unknown';
  const [boot, namespace, pidText, start] = parts as [string, string, string, string];
  const me = thisProcess();
  const pid = Number(pidText);
  if (boot !== me.boot || namespace !== me.namespace || !Number.isSafeInteger(pid) || pid <= 0) return 'unknown';
  if (pid === me.pid) return start === me.start ? 'running' : 'gone';
  // No /proc: only the PID, which may have been reused. Gone when nothing has it; else the lease decides.
  if (start === '-') return processExists(pid) ? 'unknown' : 'gone';
  const stat = processStat(pid);
  if (stat === undefined || stat.start !== start || stat.state === 'Z' || stat.state === 'X') return 'gone';
  return stat.state === 'T' || stat.state === 't' ? 'unknown' : 'running';
}

/**
 * Fields 3 and 22 of /proc/<pid>/stat: the process's state (R, S, D… running or waiting; T
 * stopped; Z a zombie) and its start time in ticks since boot; undefined when there is no such
 * process (or no /proc).
 */
function processStat(pid: number): { state: string; start: string | undefined } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] };
}

function startTime(pid: number): string | undefined {
  return processStat(pid)?.start;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function readOr(path: string, fallback: () => string): string {
  try {
    return readFileSync(path, 'utf8').trim() || fallback();
  } catch {
    return fallback();
  }
}

function linkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '-';
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}
