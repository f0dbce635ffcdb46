import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../src/stores/sqlite/exec-argv.js';

describe('the flags the sqlite worker is started with', () => {
  it('inherits everything when nothing describes the parent’s own entry', () => {
    for (const argv of [[], ['--import', 'tsx'], ['--max-old-space-size=4096', '--enable-source-maps'], ['--conditions', 'development', '--no-warnings']]) {
      expect(workerExecArgv(argv)).toBeUndefined();
    }
  });

  it.each([
    [['--input-type=module', '-e', 'import("x")'], []],
    [['--input-type', 'module', '--eval', 'code'], []],
    [['--eval=code', '--import', 'tsx'], ['--import', 'tsx']],
    [['-pe', '1 + 1'], []],
    [['--print', 'x', '--require', './apm.cjs'], ['--require', './apm.cjs']],
    [['--max-old-space-size=256', '--title', 'svc', '--input-type=module', '-e', '--import evil'], []],
    [['--test', '--test-reporter', 'spec', '--test-name-pattern', 'x', '--experimental-strip-types'], ['--experimental-strip-types']],
    [['--inspect-brk=9229', '--conditions=dev', '-C', 'edge', '--disable-warning', 'ExperimentalWarning'], ['--conditions=dev', '-C', 'edge', '--disable-warning', 'ExperimentalWarning']],
    [['--watch', '--watch-path', 'src', '--import=tsx', '--enable-source-maps'], ['--import=tsx', '--enable-source-maps']],
    [['--permission', '--allow-fs-read=*', '--allow-worker', '-e', 'x'], ['--permission', '--allow-fs-read=*', '--allow-worker']],
    [['-i', '--no-warnings'], ['--no-warnings']],
    [['--check'], []],
  ])('%j → %j: the entry’s and V8’s flags dropped, the loaders’ kept', (argv, expected) => {
    expect(workerExecArgv(argv)).toEqual(expected);
  });
});
