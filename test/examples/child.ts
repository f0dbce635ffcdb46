import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: tsx finds tsconfig.json there, which maps `durable-fetch` to the sources. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Watched {
  child: ChildProcess;
  /** Everything printed on stdout so far, carriage returns and escapes included. */
  readonly output: string;
  /** Complete stdout lines so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** The first line (printed already or to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp): Promise<RegExpMatchArray>;
}

export function spawnWatched(command: string, args: string[]): Watched {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let partial = '';
  let stderr = '';
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters) waiter(line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );

  function waitForLine(pattern: RegExp): Promise<RegExpMatchArray> {
    for (const line of lines) {
      const match = pattern.exec(line);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const waiter = (line: string) => {
        const match = pattern.exec(line);
        if (!match) return;
        waiters.delete(waiter);
        resolve(match);
      };
      waiters.add(waiter);
      void exited.then(({ code, signal, stderr: errors }) => {
        if (!waiters.delete(waiter)) return;
        reject(new Error(`exited (${signal ?? code}) before printing ${pattern}\n${lines.join('\n')}\n${errors}`));
      });
    });
  }

  return {
    child,
    get output() {
      return output;
    },
    lines,
    exited,
    waitForLine,
  };
}

/** Runs an example as users do with `npm run`, but as one process, so SIGKILL reaches the script itself. */
export function runExample(script: string, args: string[]): Watched {
  return spawnWatched(process.execPath, ['--import', 'tsx', script, ...args]);
}
