import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { INPUTS } from '../../core/inputs.js';
import {
  FRONT_ENDS,
  runFrontEnd,
  runYo,
  snapshotTree,
  tempDir,
  tempDirForYo,
  YEOMAN_CLI,
  type FrontEnd,
} from '../support/cli.js';
import { BIN } from '../support/paths.js';

const PREFIX = { bin: 'create-scdf-task', yeoman: 'generator-scdf-task' } as const;
const HELP = { bin: 'create-scdf-task', yeoman: 'yo scdf-task' } as const;

function unknown(frontEnd: FrontEnd, what: string): string {
  return (
    `${PREFIX[frontEnd]}: unknown ${what}; nothing was written. ` +
    `See ${HELP[frontEnd]} --help for every option.\n`
  );
}

describe.each(FRONT_ENDS)('%s front end: options it does not know', (frontEnd) => {
  test.each([
    [
      ['my-task', '--databse', 'postgresql', '--defaults'],
      'option --databse (closest known option: --database)',
    ],
    [['--foo', '--defaults'], 'option --foo (closest known option: --force)'],
    [
      ['--defaults', '--imagetag=1', '--chek'],
      'options --imagetag (closest known option: --image-tag), --chek (closest known option: --check)',
    ],
    [['--defaults', '-x'], 'option -x (closest known option: -h)'],
  ])('%j: exit 2, the closest known option named, nothing written', (args, what) => {
    const cwd = tempDir();
    const result = runFrontEnd(frontEnd, args, cwd);
    expect(result.stderr).toBe(unknown(frontEnd, what));
    expect(result.stdout).toBe('');
    expect(result.status).toBe(2);
    expect(snapshotTree(cwd)).toEqual({});
  });

  test('--docker-prefix UPPER/Case: says "lower case" once, and the fix', () => {
    const cwd = tempDir();
    const result = runFrontEnd(frontEnd, ['--docker-prefix', 'UPPER/Case', '--defaults'], cwd);
    expect(result.stderr).toBe(
      `${PREFIX[frontEnd]}: --docker-prefix: "UPPER/Case" is not valid: has upper-case letters; ` +
        'a registry and/or namespace is lower case: "upper/case"\n',
    );
    expect(result.status).toBe(2);
    expect(snapshotTree(cwd)).toEqual({});
  });

  test('an output folder the user may not write: a plain message naming it, exit 2', () => {
    // Root may write anywhere: the front end runs as nobody, as an ordinary user would.
    const cwd = tempDir();
    const home = path.join(cwd, 'home');
    mkdirSync(home);
    chmodSync(home, 0o777);
    const locked = path.join(cwd, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    chmodSync(cwd, 0o755);
    const entry = frontEnd === 'bin' ? BIN : YEOMAN_CLI;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = spawnSync(process.execPath, [entry, 'my-task', '--defaults'], {
      cwd: locked,
      encoding: 'utf8',
      env: { ...process.env, HOME: home, NO_COLOR: '1' },
      ...asNobody,
    });
    expect(result.stderr).toBe(
      `${PREFIX[frontEnd]}: ${path.join(locked, 'my-task')}: permission denied (EACCES); run the ` +
        'generator where you may write, or change the owner or permissions of that path\n',
    );
    expect(result.status).toBe(2);
    expect(snapshotTree(locked)).toEqual({});
  });
});

describe('create-scdf-task: what node:util parseArgs would have said, in plain words', () => {
  test.each([
    [
      ['--database'],
      '--database needs a value (one of mysql, mariadb, postgresql, sqlserver, oracle, db2): give it as --database=<value> or --database <value>',
    ],
    [
      ['--database', '--defaults'],
      '--database needs a value (one of mysql, mariadb, postgresql, sqlserver, oracle, db2): give it as --database=<value> or --database <value>',
    ],
    [
      ['--defaults', '--image-tag'],
      '--image-tag needs a value (such as "0.1.0"): give it as --image-tag=<value> or --image-tag <value>',
    ],
    [['--defaults=yes'], '--defaults takes no value: give it as --defaults alone'],
  ])('%j', (args, message) => {
    const cwd = tempDir();
    const result = runFrontEnd('bin', args, cwd);
    expect(result.stderr).toBe(`create-scdf-task: ${message}\n`);
    expect(result.stderr).not.toMatch(/To specify a positional|ambiguous|ERR_PARSE_ARGS/);
    expect(result.status).toBe(2);
    expect(snapshotTree(cwd)).toEqual({});
  });
});

describe('the real yo', () => {
  test('refuses unknown options before writing, naming the closest known one', () => {
    const cwd = tempDirForYo();
    for (const [args, what] of [
      [
        ['my-task', '--databse', 'postgresql', '--defaults'],
        'option --databse (closest known option: --database)',
      ],
      [['--defaults', '--foo'], 'option --foo (closest known option: --force)'],
    ] as const) {
      const result = runYo(args, cwd);
      expect(result.stderr).toBe(unknown('yeoman', what));
      expect(result.status).toBe(2);
      expect(snapshotTree(cwd)).toEqual({});
    }
  });

  test('an input option without its value is named, with what the value may be', () => {
    const cwd = tempDirForYo();
    const result = runYo(['my-task', '--defaults', '--database'], cwd);
    expect(result.stderr).toBe(
      'generator-scdf-task: --database needs a value (one of mysql, mariadb, postgresql, ' +
        'sqlserver, oracle, db2): give it as --database=<value> or --database <value>\n',
    );
    expect(result.status).toBe(2);
    expect(snapshotTree(cwd)).toEqual({});
  });

  test("a flag before the task name: yo takes the name as the flag's value, and is told so", () => {
    const cwd = tempDirForYo();
    const result = runYo(['--defaults', 'my-task'], cwd);
    expect(result.stderr).toBe(
      'generator-scdf-task: yo took "my-task" as the value of --defaults, which takes none: put ' +
        'the task name or project folders before the options (yo scdf-task my-task --defaults)\n',
    );
    expect(result.status).toBe(2);
    expect(snapshotTree(cwd)).toEqual({});
  });

  test("--help lists the options that apply and none of Yeoman's install or cache options", () => {
    const result = runYo(['--help'], tempDirForYo());
    expect(result.status).toBe(0);
    for (const input of INPUTS) expect(result.stdout).toContain(`--${input.option} `);
    for (const flag of [
      '--defaults',
      '--check',
      '--update',
      '--stdin',
      '--force',
      '--debug',
      '--base',
    ])
      expect(result.stdout).toContain(`${flag} `);
    for (const hidden of ['--skip-install', '--force-install', '--skip-cache', '--ask-answered'])
      expect(result.stdout).not.toContain(hidden);
    // Hidden, not refused: they are passed to every generator out of habit.
    const cwd = tempDirForYo();
    const accepted = runYo(['my-task', '--defaults', '--skip-install'], cwd);
    expect(accepted.stderr).toBe('');
    expect(accepted.status).toBe(0);
  });
});
