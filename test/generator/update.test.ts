import { describe, expect, test } from '@jest/globals';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../generators/app/answers.js';
import { planProject, sha256 } from '../../generators/app/project-files.js';
import { generateProject, readTree, runBin, snapshotTree } from '../support/cli.js';

type Rc = Record<string, Record<string, unknown>>;

function readRc(project: string): Rc {
  return JSON.parse(readFileSync(path.join(project, '.yo-rc.json'), 'utf8')) as Rc;
}

function writeRc(project: string, rc: Rc): void {
  writeFileSync(path.join(project, '.yo-rc.json'), `${JSON.stringify(rc, null, 2)}\n`);
}

function section(rc: Rc): Record<string, unknown> {
  const found = rc['generator-scdf-task'];
  if (!found) throw new Error('no generator-scdf-task section');
  return found;
}

const ANSWERS = withDefaults({ taskName: 'orders-etl', database: 'postgresql' });
const MANAGED = planProject(ANSWERS).filter((file) => file.owner === 'managed');
const USER = planProject(ANSWERS).filter((file) => file.owner === 'user');

describe('update run inside a generated project', () => {
  test('with no change, every file stays byte-identical and the summary says so', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const before = snapshotTree(project);
    const result = runBin([], project);
    expect(result.status).toBe(0);
    expect(snapshotTree(project)).toEqual(before);
    expect(result.stdout).toContain(`Updated ${project}`);
    expect(result.stdout).toContain('updated: 0\n');
    expect(result.stdout).toContain(`unchanged: ${MANAGED.length}\n`);
    expect(result.stdout).toContain('created: 0\n');
    expect(result.stdout).toContain('removed: 0\n');
    expect(result.stdout).toContain(`kept (yours): ${USER.length} (`);
    expect(result.stdout).not.toContain('Next steps');
  });

  test('the same command run again from the parent folder updates ./<task-name>/ in place', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const before = snapshotTree(project);
    const again = runBin(['orders-etl', '--defaults'], path.dirname(project));
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`Updated ${project}`);
    expect(snapshotTree(project)).toEqual(before);
    expect(section(readRc(project)).database).toBe('postgresql');
  });

  test("the user's edits to task code and requirements survive byte for byte", () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const edits: Record<string, string> = {
      'python_task.py': 'print("my own task")\n',
      'requirements.txt': '-r requirements-scdf.txt\nrequests==2.32.5\n',
      'tests/test_python_task.py': 'def test_mine() -> None:\n    assert True is True\n',
    };
    for (const [file, content] of Object.entries(edits))
      writeFileSync(path.join(project, file), content);
    const result = runBin([], project);
    expect(result.status).toBe(0);
    for (const [file, content] of Object.entries(edits)) {
      expect(readFileSync(path.join(project, file), 'utf8')).toBe(content);
    }
    expect(result.stdout).toMatch(/kept \(yours\): \d+ \(.*python_task\.py.*requirements\.txt/);
  });

  test('a deleted user file is created again; nothing else changes', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const before = snapshotTree(project);
    const victim = path.join(project, 'tests/test_python_task.py');
    rmSync(victim);
    const result = runBin([], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('created: 1 (tests/test_python_task.py)');
    expect(snapshotTree(project)).toEqual(before);
  });

  test('--check finds an edited managed file, writes nothing; the update restores it', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const managed = 'util/task_status.py';
    const pristine = readFileSync(path.join(project, managed), 'utf8');
    appendFileSync(path.join(project, managed), '# local hack\n');
    const edited = snapshotTree(project);

    const check = runBin(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain(`--- a/${managed}`);
    expect(check.stdout).toContain(`+++ b/${managed}`);
    expect(check.stdout).toContain('-# local hack');
    expect(check.stdout).toContain(`1 managed file(s) differ from the templates`);
    expect(snapshotTree(project)).toEqual(edited);

    const update = runBin([], project);
    expect(update.status).toBe(0);
    expect(update.stdout).toContain(`updated: 1 (${managed})`);
    expect(readFileSync(path.join(project, managed), 'utf8')).toBe(pristine);

    const recheck = runBin(['--check'], project);
    expect(recheck.status).toBe(0);
    expect(recheck.stdout).toContain('every managed file matches the templates');
  });

  test('--check ignores edits to user-owned files and reports a missing managed file', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    writeFileSync(path.join(project, 'python_task.py'), 'print(1)\n');
    expect(runBin(['--check'], project).status).toBe(0);
    rmSync(path.join(project, 'Dockerfile'));
    const check = runBin(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('--- /dev/null');
    expect(check.stdout).toContain('+++ b/Dockerfile');
    expect(existsSync(path.join(project, 'Dockerfile'))).toBe(false);
  });

  test('switching the database changes driver, Dockerfile and README, not user files', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const user = USER.map((file) => file.path);
    const before = readTree(project);
    const result = runBin(['--database', 'mysql'], project);
    expect(result.status).toBe(0);
    const after = readTree(project);
    expect(result.stdout).toContain('answers changed: --database: postgresql -> mysql');
    for (const file of ['requirements-scdf.txt', 'Dockerfile', 'README.md']) {
      expect(after[file]).not.toBe(before[file]);
      expect(result.stdout).toMatch(new RegExp(`updated: \\d+ \\(.*${file.replace('.', '\\.')}`));
    }
    expect(after['requirements-scdf.txt']).toContain('PyMySQL[rsa]==');
    expect(after['requirements-scdf.txt']).not.toContain('psycopg');
    for (const file of user) expect(after[file]).toBe(before[file]);
    expect(section(readRc(project)).database).toBe('mysql');
    const expected = planProject({ ...ANSWERS, database: 'mysql' });
    for (const file of expected)
      if (file.owner === 'managed') expect(after[file.path]).toBe(file.content);
  });

  test('files an older version generated are removed if unedited, kept and reported if edited', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    const stale = 'scdf/launch-old.shell';
    const staleEdited = 'scripts/old-helper.sh';
    const oldContent = 'task launch orders-etl\n';
    mkdirSync(path.join(project, 'scripts'), { recursive: true });
    writeFileSync(path.join(project, stale), oldContent);
    writeFileSync(path.join(project, staleEdited), '#!/bin/sh\necho old\n# user tweak\n');
    const rc = readRc(project);
    const state = section(rc);
    state.generatorVersion = '0.0.1';
    state.managedFiles = {
      ...(state.managedFiles as Record<string, string>),
      [stale]: sha256(oldContent),
      [staleEdited]: sha256('#!/bin/sh\necho old\n'),
    };
    writeRc(project, rc);

    const check = runBin(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain(`--- a/${stale}`);
    expect(check.stdout).not.toContain(staleEdited);

    const result = runBin([], project);
    expect(result.status).toBe(0);
    expect(existsSync(path.join(project, stale))).toBe(false);
    expect(readFileSync(path.join(project, staleEdited), 'utf8')).toBe(
      '#!/bin/sh\necho old\n# user tweak\n',
    );
    expect(result.stdout).toContain(`removed: 1 (${stale})`);
    expect(result.stdout).toContain(
      `kept and no longer generated (you edited them): 1 (${staleEdited})`,
    );
    const updated = section(readRc(project));
    expect(updated.generatorVersion).toBe('0.1.0');
    expect(Object.keys(updated.managedFiles as object)).toEqual(MANAGED.map((file) => file.path));
  });

  test('a project from a newer generator is refused, unchanged', () => {
    const project = generateProject('orders-etl');
    const rc = readRc(project);
    section(rc).generatorVersion = '99.0.0';
    writeRc(project, rc);
    const before = snapshotTree(project);
    const result = runBin([], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'generated by generator-scdf-task 99.0.0, newer than this 0.1.0',
    );
    expect(snapshotTree(project)).toEqual(before);
  });

  test('CI path: a stored answer missing and no terminal exits non-zero naming it', () => {
    const project = generateProject('orders-etl');
    const rc = readRc(project);
    delete section(rc).database;
    writeRc(project, rc);
    const before = snapshotTree(project);
    const result = runBin([], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no terminal to ask on');
    expect(result.stderr).toContain('--database');
    expect(snapshotTree(project)).toEqual(before);
    expect(runBin(['--defaults'], project).status).toBe(0);
    expect(section(readRc(project)).database).toBe('mariadb');
  });

  test('--check outside a generated project is an error, not a pass', () => {
    const project = generateProject('orders-etl');
    const result = runBin(['--check'], path.dirname(project));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--check compares a generated project with the templates');
  });
});
