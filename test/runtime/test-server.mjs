/**
 * The fault-injecting test server (support/server/main.ts) as a child process on the pinned Node 24,
 * whatever runtime runs the suite: the server is the fixed point the runtimes are compared against.
 * Its /__control/ API is how a test scripts faults and reads what the server saw.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** DURABLE_FETCH_SERVER_NODE, else the `node` devDependency (Node 24), else `node` on PATH. */
function serverNode() {
  if (process.env.DURABLE_FETCH_SERVER_NODE) return process.env.DURABLE_FETCH_SERVER_NODE;
  const pinned = `${ROOT}node_modules/node/bin/node`;
  return existsSync(pinned) ? pinned : 'node';
}

export async function startServer(dialect = 'seed004') {
  const child = spawn(
    serverNode(),
    ['--import', 'tsx', 'support/server/main.ts', '--dialect', dialect, '--port', '0', '--exit-with-stdin'],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)).url);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the test server exited (${code}) before printing its URL`)));
  });

  const control = async (method, path, body) => {
    const res = await fetch(`${url}/__control/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  return {
    url,
    reset: () => control('POST', 'reset'),
    /** null, { once: fault } or { firstAttempts: [...], seed, probability, upToAttempt } */
    setFaults: (script) => control('POST', 'faults', script),
    /** Every request seen: { method, path, key, attempt, fault, outcome, status }. */
    requests: async () => (await control('GET', 'state')).requests,
    applied: async (key) => (await control('GET', `applied?key=${encodeURIComponent(key)}`)).applied,
    close() {
      child.stdin.end();
      return new Promise((resolve) => (child.exitCode === null ? child.on('exit', () => resolve()) : resolve()));
    },
  };
}
