import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface Run {
  child: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves when the process has exited, with its code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `node <fixture> ...args` as a real child process. */
export function runFixture(fixture: string, args: string[], options: { cwd?: string } = {}): Run {
  const child = spawn(process.execPath, [`${FIXTURES}${fixture}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines: string[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const parts = stdout.split('\n');
    stdout = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, lines, exited };
}
