/** A real redis-server for tests and the bench: Debian's, started on a free loopback port. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Kills the server (SIGKILL): what it had not written to disk is gone. */
  crash(): Promise<void>;
  /** Starts it again on the same port and directory, after a crash. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Persist as redisStore demands (AOF, fsync before every answer), or not at all. @default true */
  aof?: boolean;
  /** Leave CONFIG enabled, or disable it as managed services do. @default true */
  config?: boolean;
}

/**
 * Starts a real `redis-server` (Debian's; scripts/ensure-system.mjs installs it) on a free
 * loopback port, in a fresh temporary directory, and resolves once it accepts connections.
 */
export async function startRedisServer({ aof = true, config = true }: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'durable-fetch-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  args.push('--appendonly', aof ? 'yes' : 'no', '--appendfsync', aof ? 'always' : 'everysec');
  if (!config) args.push('--rename-command', 'CONFIG', '');
  let child = await spawnReady(args);
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, 'exit');
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    crash: () => kill('SIGKILL'),
    async restart() {
      child = await spawnReady(args);
    },
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}


async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function spawnReady(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await untilReady(child);
  return child;
}

function untilReady(child: ChildProcess): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(new Error(`Could not start redis-server (run "node scripts/ensure-system.mjs" to install it): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
  });
}
