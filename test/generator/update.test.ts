import { describe, expect, test } from '@jest/globals';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { GENERATOR_VERSION, planProject, sha256 } from '../../core/project-files.js';
import {
  FRONT_ENDS,
  generateProject,
  readTree,
  runFrontEnd,
  snapshotTree,
} from '../support/cli.js';

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
const PLAN = planProject(ANSWERS);

describe.each(FRONT_ENDS)('%s front end: update inside a generated project', (frontEnd) => {
  const run = (args: readonly string[], cwd: string) => runFrontEnd(frontEnd, args, cwd);
  const generate = () => generateProject('orders-etl', ['--database', 'postgresql']);

  test('with no change, every file stays byte-identical and the summary says so', () => {
    const project = generate();
    const before = snapshotTree(project);
    const result = run([], project);
    expect(result.status).toBe(0);
    expect(snapshotTree(project)).toEqual(before);
    expect(result.stdout).toContain(`Updated ${project}`);
    expect(result.stdout).toContain(`unchanged: ${PLAN.length}\n`);
    expect(result.stdout).not.toMatch(/^(updated|created|removed|kept)/m);
    expect(result.stdout).not.toContain('Next steps');
  });

  test('the same command run again from the parent folder updates ./<task-name>/ in place', () => {
    const project = generate();
    const before = snapshotTree(project);
    const again = run(['orders-etl', '--defaults'], path.dirname(project));
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`Updated ${project}`);
    expect(snapshotTree(project)).toEqual(before);
    expect(section(readRc(project)).database).toBe('postgresql');
  });

  test('run from a subfolder, it finds the project upward and updates it; no nested project', () => {
    const project = generate();
    const before = snapshotTree(project);
    for (const args of [['--defaults'], []]) {
      const result = run(args, path.join(project, 'tests', 'scdf'));
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`Updated ${project} `);
    }
    expect(snapshotTree(project)).toEqual(before);
  });

  test('your edits to managed and user files are kept byte for byte and listed', () => {
    const project = generate();
    const edits: Record<string, string> = {
      'python_task.py': 'print("my own task")\n',
      'requirements.txt': '-r requirements-scdf.txt\nrequests==2.32.5\n',
      'util/task_status.py': `${readFileSync(path.join(project, 'util/task_status.py'), 'utf8')}# local hack\n`,
    };
    for (const [file, content] of Object.entries(edits))
      writeFileSync(path.join(project, file), content);
    const result = run([], project);
    expect(result.status).toBe(0);
    for (const [file, content] of Object.entries(edits)) {
      expect(readFileSync(path.join(project, file), 'utf8')).toBe(content);
    }
    expect(result.stdout).toContain(
      'kept (edited by you): 3 (python_task.py, requirements.txt, util/task_status.py)',
    );
  });

  test('a deleted user file stays deleted, a deleted managed file comes back; the summary says so', () => {
    const project = generate();
    const before = snapshotTree(project);
    rmSync(path.join(project, 'tests/test_python_task.py'));
    rmSync(path.join(project, 'Dockerfile'));
    const check = run(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/deleted by you, would be restored \(managed\)\s+Dockerfile/);
    expect(check.stdout).toMatch(
      /deleted by you, stays deleted \(yours\)\s+tests\/test_python_task\.py/,
    );
    expect(check.stdout).toContain('--- /dev/null\n+++ b/Dockerfile');
    expect(existsSync(path.join(project, 'Dockerfile'))).toBe(false);

    const result = run([], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'restored (you deleted them; the generator owns them): 1 (Dockerfile)',
    );
    expect(result.stdout).toContain('left deleted (yours): 1 (tests/test_python_task.py)');
    const expected = { ...before };
    delete expected['tests/test_python_task.py'];
    expect(snapshotTree(project)).toEqual(expected);
  });

  test('--check: an edit of yours is not drift; a template change is, with a diff; nothing written', () => {
    const project = generate();
    appendFileSync(path.join(project, 'util/task_status.py'), '# local hack\n');
    const edited = snapshotTree(project);
    const clean = run(['--check'], project);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toMatch(/edited by you\s+util\/task_status\.py/);
    expect(clean.stdout).toContain(
      `${project}: up to date with generator-scdf-task ${GENERATOR_VERSION}`,
    );

    const drift = run(['--check', '--image-tag', '2.0.0'], project);
    expect(drift.status).toBe(1);
    expect(drift.stdout).toContain('--- a/scdf/register.shell\n+++ b/scdf/register.shell');
    expect(drift.stdout).toContain(':2.0.0');
    expect(drift.stdout).toMatch(/template changed\s+scdf\/register\.shell/);
    expect(snapshotTree(project)).toEqual(edited);
  });

  test('switching the database updates every file it touches, yours too when unedited', () => {
    const project = generate();
    writeFileSync(path.join(project, 'python_task.py'), 'print("mine")\n');
    const result = run(['--database', 'mysql'], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('answers changed: --database: postgresql -> mysql');
    const after = readTree(project);
    const expected = planProject({ ...ANSWERS, database: 'mysql' });
    for (const file of expected) {
      expect(after[file.path]).toBe(
        file.path === 'python_task.py' ? 'print("mine")\n' : file.content,
      );
    }
    expect(after['requirements-scdf.txt']).toContain('PyMySQL[rsa]==');
    expect(section(readRc(project)).database).toBe('mysql');
  });

  test('a lost executable bit is repaired and reported; --check shows it first', () => {
    const project = generate();
    const script = path.join(project, 'scripts/scdf-rest.sh');
    chmodSync(script, 0o644);
    const check = run(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('mode: scripts/scdf-rest.sh would be executable');
    const result = run([], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('updated: 1 (scripts/scdf-rest.sh)');
    expect(statSync(script).mode & 0o777).toBe(0o755);
  });

  test('--force replaces your edits to user files with the templates and says so', () => {
    const project = generate();
    const pristine = readTree(project);
    writeFileSync(path.join(project, 'python_task.py'), 'print("mine")\n');
    const result = run(['--force'], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('overwritten by --force: 1 (python_task.py)');
    expect(readTree(project)).toEqual(pristine);
  });

  test('a project from a newer generator is refused unchanged; --force goes back to this version', () => {
    const project = generate();
    const rc = readRc(project);
    section(rc).generatorVersion = '99.0.0';
    writeRc(project, rc);
    const before = snapshotTree(project);
    const refused = run([], project);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(
      `generated by generator-scdf-task 99.0.0, newer than this ${GENERATOR_VERSION}`,
    );
    expect(snapshotTree(project)).toEqual(before);
    const forced = run(['--force'], project);
    expect(forced.status).toBe(0);
    expect(section(readRc(project)).generatorVersion).toBe(GENERATOR_VERSION);
  });

  test('versions compare as semver: a pre-release is older, a non-version is refused', () => {
    const project = generate();
    const rc = readRc(project);
    section(rc).generatorVersion = `${GENERATOR_VERSION}-rc.1`;
    writeRc(project, rc);
    expect(run([], project).status).toBe(0);
    section(rc).generatorVersion = 'banana';
    writeRc(project, rc);
    const before = snapshotTree(project);
    const result = run([], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('"generatorVersion" "banana" is not a semantic version');
    expect(snapshotTree(project)).toEqual(before);
  });

  test("keys of .yo-rc.json this version does not know are kept, ours and other generators'", () => {
    const project = generate();
    const rc = readRc(project);
    section(rc).teamNote = { owner: 'data-platform' };
    rc['generator-other'] = { answer: 42 };
    writeRc(project, rc);
    expect(run(['--image-tag', '1.2.3'], project).status).toBe(0);
    const after = readRc(project);
    expect(section(after).teamNote).toEqual({ owner: 'data-platform' });
    expect(section(after).imageTag).toBe('1.2.3');
    expect(after['generator-other']).toEqual({ answer: 42 });
  });

  test('a positional name does not rename the project; --task-name does, and it is reported', () => {
    const project = generate();
    const before = snapshotTree(project);
    const refused = run(['billing-etl', '--defaults'], project);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(
      'does not rename it. To rename it, pass --task-name billing-etl',
    );
    expect(snapshotTree(project)).toEqual(before);
    const renamed = run(['--task-name', 'billing-etl'], project);
    expect(renamed.status).toBe(0);
    expect(renamed.stdout).toContain('renamed: orders-etl -> billing-etl');
    expect(section(readRc(project)).taskName).toBe('billing-etl');
    expect(readFileSync(path.join(project, 'scdf/register.shell'), 'utf8')).toContain(
      'billing-etl',
    );
  });

  test('a project made before contents were recorded: unedited managed files follow the templates', () => {
    const project = generate();
    const stale = 'scdf/launch-old.shell';
    const staleEdited = 'scripts/old-helper.sh';
    const oldContent = 'task launch orders-etl\n';
    mkdirSync(path.join(project, 'scripts'), { recursive: true });
    writeFileSync(path.join(project, stale), oldContent);
    writeFileSync(path.join(project, staleEdited), '#!/bin/sh\necho old\n# user tweak\n');
    const oldDockerfile = '# the Dockerfile as an older version wrote it\n';
    writeFileSync(path.join(project, 'Dockerfile'), oldDockerfile);
    const rc = readRc(project);
    const state = section(rc);
    delete state.lastGenerated;
    state.generatorVersion = '0.0.1';
    state.managedFiles = {
      Dockerfile: sha256(oldDockerfile),
      [stale]: sha256(oldContent),
      [staleEdited]: sha256('#!/bin/sh\necho old\n'),
    };
    writeRc(project, rc);

    const check = run(['--check'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain(`--- a/${stale}\n+++ /dev/null`);
    expect(check.stdout).toMatch(
      /no longer generated, edited by you: would be kept\s+scripts\/old-helper\.sh/,
    );

    const result = run([], project);
    expect(result.status).toBe(0);
    expect(existsSync(path.join(project, stale))).toBe(false);
    expect(readFileSync(path.join(project, staleEdited), 'utf8')).toBe(
      '#!/bin/sh\necho old\n# user tweak\n',
    );
    expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
      PLAN.find((file) => file.path === 'Dockerfile')?.content,
    );
    expect(result.stdout).toContain(`removed (no longer generated): 1 (${stale})`);
    expect(result.stdout).toContain(
      `kept, no longer generated (you edited them): 1 (${staleEdited})`,
    );
    const updated = section(readRc(project));
    expect(updated.generatorVersion).toBe(GENERATOR_VERSION);
    expect(updated.managedFiles).toBeUndefined();
    expect(Object.keys(updated.lastGenerated as object)).toEqual(PLAN.map((file) => file.path));
  });

  test('CI path: a stored answer missing and no terminal exits non-zero naming it', () => {
    const project = generate();
    const rc = readRc(project);
    delete section(rc).database;
    writeRc(project, rc);
    const before = snapshotTree(project);
    const result = run([], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no terminal to ask on');
    expect(result.stderr).toContain('--database');
    expect(snapshotTree(project)).toEqual(before);
    expect(run(['--defaults'], project).status).toBe(0);
    expect(section(readRc(project)).database).toBe('mariadb');
  });

  test('--check outside a generated project is an error, not a pass', () => {
    const project = generate();
    const result = run(['--check'], path.dirname(project));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--check compares a generated project with the templates');
  });
});
