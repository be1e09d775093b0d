import { describe, expect, test } from '@jest/globals';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../../core/hash.js';
import { runBin, runYo, snapshotTree, tempDirForYo, type RunResult } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * What a user types at either front end, `yo scdf-task` (the real yo, as installed generators are
 * found) and the `create-scdf-task` bin, and the words each answers with. Folders are made for yo,
 * which drops root to an unprivileged user.
 */
const FRONT_ENDS = {
  yo: { run: runYo, prefix: 'generator-scdf-task', help: 'yo scdf-task' },
  bin: { run: runBin, prefix: 'create-scdf-task', help: 'create-scdf-task' },
} as const;
type FrontEndName = keyof typeof FRONT_ENDS;

const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

function refused(result: RunResult, stderr: string, cwd: string): void {
  expect({ status: result.status, stderr: result.stderr, stdout: result.stdout }).toEqual({
    status: 2,
    stderr,
    stdout: '',
  });
  expect(snapshotTree(cwd)).toEqual({});
}

describe.each(Object.keys(FRONT_ENDS) as FrontEndName[])('%s', (name) => {
  const { run, prefix, help } = FRONT_ENDS[name];

  test("--version and -v print the generator's version from package.json; -V is pointed to -v", () => {
    const cwd = tempDirForYo();
    for (const flag of ['--version', '-v']) {
      const result = run([flag], cwd);
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        status: 0,
        stdout: `${VERSION}\n`,
        stderr: '',
      });
    }
    refused(
      run(['-V'], cwd),
      `${prefix}: unknown option -V (closest known option: -v); nothing was written. ` +
        `See ${help} --help for every option.\n`,
      cwd,
    );
  });

  test.each([
    ['postgres', 'postgresql'],
    ['MariaDB', 'mariadb'],
    ['oracel', 'oracle'],
  ])('--database %s: the values, and "did you mean %s"', (typed, meant) => {
    const cwd = tempDirForYo();
    refused(
      run(['my-task', '--database', typed, '--defaults'], cwd),
      `${prefix}: --database: ${JSON.stringify(typed)} is not valid: must be one of: mysql, ` +
        `mariadb, postgresql, sqlserver, oracle, db2 (did you mean ${JSON.stringify(meant)}?)\n`,
      cwd,
    );
  });

  test('--database h2: the values, and no guess when none is close', () => {
    const cwd = tempDirForYo();
    refused(
      run(['my-task', '--database', 'h2', '--defaults'], cwd),
      `${prefix}: --database: "h2" is not valid: must be one of: mysql, mariadb, postgresql, ` +
        'sqlserver, oracle, db2\n',
      cwd,
    );
  });

  test('--docker-prefix ghcr.io/Acme/: every broken rule named, and the fix', () => {
    const cwd = tempDirForYo();
    refused(
      run(['my-task', '--docker-prefix', 'ghcr.io/Acme/', '--defaults'], cwd),
      `${prefix}: --docker-prefix: "ghcr.io/Acme/" is not valid: has upper-case letters and ` +
        'must not end with "/"; a registry and/or namespace is lower case and has no trailing ' +
        '"/": "ghcr.io/acme"\n',
      cwd,
    );
  });

  test.each(['--update', '--check'])('%s on a folder that does not exist says so', (flag) => {
    const cwd = tempDirForYo();
    // yo would take a word after a flag as the flag's value: the folder goes first there.
    const args = name === 'yo' ? ['gone', flag] : [flag, 'gone'];
    refused(
      run(args, cwd),
      `${prefix}: ${path.join(cwd, 'gone')} does not exist; name the folder of a generated project\n`,
      cwd,
    );
  });

  test('.yo-rc.json of a default project is under 8 KB, and tells an edit from what it wrote', () => {
    const cwd = tempDirForYo();
    expect(run(['my-task', '--defaults'], cwd)).toMatchObject({ status: 0, stderr: '' });
    const project = path.join(cwd, 'my-task');
    const rcPath = path.join(project, '.yo-rc.json');
    expect(statSync(rcPath).size).toBeLessThan(8 * 1024);

    expect(run([project, '--check'], cwd)).toMatchObject({ status: 0 });
    writeFileSync(path.join(project, 'Dockerfile'), 'FROM scratch\n');
    const edited = run([project, '--check'], cwd);
    expect(edited.stdout).toMatch(/^ *edited by you +Dockerfile$/m);
  });
});

describe('records of earlier versions stay readable', () => {
  test.each(Object.keys(FRONT_ENDS) as FrontEndName[])(
    '%s: whole 64-digit hashes still tell an unchanged file from an edited one',
    (name) => {
      const { run } = FRONT_ENDS[name];
      const cwd = tempDirForYo();
      expect(run(['my-task', '--defaults'], cwd)).toMatchObject({ status: 0 });
      const project = path.join(cwd, 'my-task');
      const rcPath = path.join(project, '.yo-rc.json');
      const rc = JSON.parse(readFileSync(rcPath, 'utf8')) as Record<
        string,
        { lastGenerated: Record<string, { owner: string; sha256: string }> }
      >;
      const section = rc['generator-scdf-task'];
      if (section === undefined) throw new Error(`no generator section in ${rcPath}`);
      for (const [relPath, record] of Object.entries(section.lastGenerated))
        record.sha256 = sha256(readFileSync(path.join(project, relPath)));
      writeFileSync(rcPath, `${JSON.stringify(rc, null, 2)}\n`);

      const same = run([project, '--check'], cwd);
      expect(same).toMatchObject({ status: 0 });
      expect(same.stdout).toContain('up to date');
      writeFileSync(path.join(project, 'Dockerfile'), 'FROM scratch\n');
      expect(run([project, '--check'], cwd).stdout).toMatch(/^ *edited by you +Dockerfile$/m);
    },
  );
});

test("yo's hint for --check a b keeps every folder; the bin checks both", () => {
  const cwd = tempDirForYo();
  refused(
    runYo(['--check', 'a', 'b'], cwd),
    'generator-scdf-task: yo took "a" as the value of --check, which takes none: put the task ' +
      'name or project folders before the options (yo scdf-task a b --check)\n',
    cwd,
  );
  const bin = runBin(['--check', 'a', 'b'], cwd);
  expect(bin.status).toBe(2);
  expect(bin.stdout).toContain(`a: error: ${path.join(cwd, 'a')} does not exist`);
  expect(bin.stdout).toContain(`b: error: ${path.join(cwd, 'b')} does not exist`);
});
