/**
 * The Node flags the store's worker is started with. By default a worker inherits its parent's,
 * and some describe the parent's entry or tooling, not code a worker runs: under
 * `node --input-type=module -e '…'` the worker refuses to load its file at all ("--input-type can
 * only be used with string input"), `--inspect-brk` would stop it until a debugger comes, and
 * `--test`, `--watch`, `--check` or `--interactive` mean nothing to it.
 *
 * When the parent has none of those, the worker inherits everything, as any worker does. When it
 * has any, the worker is given only the flags that decide how its modules load and what it may do
 * — preloads (`--import tsx`, an APM's `--require`), `--conditions`, type stripping and the other
 * module-format switches, the permission model — and the warning and source-map switches. Nothing
 * else: an explicit list is parsed again, and Node refuses a worker any V8 or process-wide flag in
 * it (`--max-old-space-size`, `--title`), which apply to the whole process anyway.
 */

/** Flags about the parent's own entry or tooling, by name or prefix. */
const ENTRY = new Set(['-e', '--eval', '-p', '--print', '-pe', '--input-type', '-i', '--interactive', '-c', '--check', '--run', '-']);
const TOOLING_PREFIXES = ['--test', '--experimental-test', '--inspect', '--debug', '--watch'];

/** Flags among the dropped ones whose value may follow as the next argument. */
const DROPPED_WITH_VALUE = new Set([
  '-e', '--eval', '-p', '--print', '-pe', '--input-type', '--run', '--inspect-port', '--debug-port', '--watch-path', '--watch-kill-signal',
  '--test-name-pattern', '--test-skip-pattern', '--test-reporter', '--test-reporter-destination', '--test-concurrency', '--test-timeout',
  '--test-shard', '--test-isolation', '--test-global-setup', '--test-coverage-include', '--test-coverage-exclude', '--test-coverage-branches',
  '--test-coverage-functions', '--test-coverage-lines', '--experimental-test-isolation', '--env-file', '--env-file-if-exists', '--title',
]);

/** What the worker keeps when it cannot inherit: flags Node accepts in a worker's execArgv. */
const KEPT_WITH_VALUE = new Set([
  '--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C', '--disable-warning', '--unhandled-rejections',
  '--allow-fs-read', '--allow-fs-write',
]);
const KEPT = new Set([
  ...KEPT_WITH_VALUE,
  '--experimental-strip-types', '--no-experimental-strip-types', '--experimental-transform-types', '--experimental-require-module',
  '--no-experimental-require-module', '--experimental-detect-module', '--no-experimental-detect-module', '--experimental-sqlite',
  '--permission', '--experimental-permission', '--allow-worker', '--allow-child-process', '--allow-addons', '--allow-wasi',
  '--no-warnings', '--no-deprecation', '--trace-warnings', '--trace-uncaught', '--enable-source-maps', '--preserve-symlinks',
]);

/** The execArgv to start the worker with: undefined to inherit the parent's (nothing in it is harmful). */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  const kept: string[] = [];
  let harmful = false;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg : arg.slice(0, equals);
    if (KEPT.has(name)) {
      kept.push(arg);
      if (equals < 0 && KEPT_WITH_VALUE.has(name) && i + 1 < execArgv.length) kept.push(execArgv[++i]!);
      continue;
    }
    if (ENTRY.has(name) || TOOLING_PREFIXES.some((prefix) => name.startsWith(prefix))) harmful = true;
    if (equals < 0 && DROPPED_WITH_VALUE.has(name)) i++;
  }
  return harmful ? kept : undefined;
}
