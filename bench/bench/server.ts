import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoopbackServer {
  /** Base URL, with a trailing slash. */
  url: string;
  pid: number;
  /** Stops the child; resolves with what it served and the CPU it used. */
  stop(): Promise<{ served: number; cpuMs: number }>;
}

/** Starts server-process.ts in a child process and waits until it listens. */
export function startLoopbackServer(): Promise<LoopbackServer> {
  // The child inherits this process's execArgv, so it runs under the same TypeScript loader (tsx).
  const child = fork(fileURLToPath(new URL('./server-process.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`loopback server did not start: ${err.message}`));
    child.once('error', failed);
    child.once('exit', (code) => failed(new Error(`exited with code ${code}`)));
    child.once('message', (message) => {
      const { port } = message as { port: number };
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${port}/`,
        pid: child.pid!,
        stop: () =>
          new Promise((done, fail) => {
            child.once('message', (report) => done(report as { served: number; cpuMs: number }));
            child.once('exit', () => fail(new Error('loopback server exited before reporting')));
            child.send('stop');
          }),
      });
    });
  });
}
