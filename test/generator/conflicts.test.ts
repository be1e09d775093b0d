import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { GENERATOR_VERSION, planProject, sha256 } from '../../core/project-files.js';
import {
  changedPaths,
  commitAll,
  committedProject,
  FRONT_ENDS,
  runBin,
  runFrontEnd,
  snapshotTree,
  templateVariant,
  tempDir,
} from '../support/cli.js';

type Rc = Record<string, Record<string, unknown>>;

const rcPath = (project: string) => path.join(project, '.yo-rc.json');
const readRc = (project: string) => JSON.parse(readFileSync(rcPath(project), 'utf8')) as Rc;

function section(rc: Rc): Record<string, unknown> {
  const found = rc['generator-scdf-task'];
  if (!found) throw new Error('no generator-scdf-task section');
  return found;
}

const firstLine = (text: string, line: string) => text.replace(/^[^\n]*/, line);
const YOURS = '# the team rewrote this line';
const THEIRS = '# newer template: first line reworded';

/** Templates whose Dockerfile starts with another line: a newer version, as far as it matters. */
const newerDockerfile = () =>
  templateVariant((dir) => {
    const file = path.join(dir, 'managed', 'Dockerfile');
    writeFileSync(file, firstLine(readFileSync(file, 'utf8'), THEIRS));
  });

describe.each(FRONT_ENDS)('%s front end: conflict markers are never forgotten', (frontEnd) => {
  test('markers the update wrote fail every later update and --check, naming the file, until resolved', () => {
    const project = committedProject('orders-etl');
    const dockerfile = path.join(project, 'Dockerfile');
    const original = readFileSync(dockerfile, 'utf8');
    writeFileSync(dockerfile, firstLine(original, YOURS));
    const env = { SCDF_TASK_TEMPLATES: newerDockerfile() };
    const run = (args: string[]) => runFrontEnd(frontEnd, args, project, { env });

    const first = run([]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(3);
    expect(first.stdout).toContain('conflicts (resolve the markers, then commit): 1 (Dockerfile)');
    const marked = readFileSync(dockerfile, 'utf8');
    expect(marked.startsWith(`<<<<<<< yours\n${YOURS}\n`)).toBe(true);
    expect(section(readRc(project)).lastGenerated).toMatchObject({
      Dockerfile: { owner: 'managed', conflict: true },
    });
    // As a CI job does: the markers are committed for a person to resolve in review.
    commitAll(project, 'template update with conflicts');

    const before = snapshotTree(project);
    for (const args of [[], ['--image-tag', '0.2.0']]) {
      const again = run(args);
      expect(again.stderr).toBe('');
      expect(again.status).toBe(3);
      expect(again.stdout).toBe(
        `${project}: nothing written: the conflict markers of the last update are still in ` +
          "Dockerfile; resolve them (or pass --force to take the templates' version), then run again\n",
      );
      expect(snapshotTree(project)).toEqual(before);
    }
    const check = run(['--check']);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(3);
    expect(check.stdout).toMatch(/^ {2}conflict markers unresolved\s+Dockerfile$/m);
    expect(check.stdout).toContain(`${project}: conflict markers unresolved: Dockerfile\n`);
    expect(snapshotTree(project)).toEqual(before);

    // Resolved by keeping both lines: an edit of yours from now on, and no longer a conflict.
    const resolved = `${YOURS}\n${original.split('\n').slice(1).join('\n')}`;
    writeFileSync(dockerfile, resolved);
    const recheck = run(['--check']);
    expect(recheck.status).toBe(0);
    expect(recheck.stdout).toMatch(/^ {2}edited by you\s+Dockerfile$/m);
    const after = run([]);
    expect(after.status).toBe(0);
    expect(after.stdout).toContain('kept (edited by you): 1 (Dockerfile)');
    expect(readFileSync(dockerfile, 'utf8')).toBe(resolved);
    expect(section(readRc(project)).lastGenerated).not.toMatchObject({
      Dockerfile: { conflict: true },
    });
    expect(changedPaths(project)).toEqual([' M .yo-rc.json', ' M Dockerfile']);
  });

  test('--force takes the template over unresolved markers', () => {
    const project = committedProject('orders-etl');
    const dockerfile = path.join(project, 'Dockerfile');
    writeFileSync(dockerfile, firstLine(readFileSync(dockerfile, 'utf8'), YOURS));
    const templates = newerDockerfile();
    const env = { SCDF_TASK_TEMPLATES: templates };
    expect(runFrontEnd(frontEnd, [], project, { env }).status).toBe(3);
    const forced = runFrontEnd(frontEnd, ['--force'], project, { env });
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain('overwritten by --force: 1 (Dockerfile)');
    expect(readFileSync(dockerfile, 'utf8')).toBe(
      planProject(withDefaults({ taskName: 'orders-etl' }), templates).find(
        (file) => file.path === 'Dockerfile',
      )?.content,
    );
    expect(runFrontEnd(frontEnd, ['--check'], project, { env }).status).toBe(0);
  });
});

describe.each(FRONT_ENDS)('%s front end: a record of hashes only (0.1.0 projects)', (frontEnd) => {
  test('a managed file you edited whose template did not change is kept, not a conflict', () => {
    const project = committedProject('orders-etl');
    const dockerfile = path.join(project, 'Dockerfile');
    const template = readFileSync(dockerfile, 'utf8');
    const yours = `${template}# a system package the team added\n`;
    writeFileSync(dockerfile, yours);
    const rc = readRc(project);
    const state = section(rc);
    delete state.lastGenerated;
    // A version that cannot be fetched: only the hashes are there to decide with.
    state.generatorVersion = '0.0.1';
    state.managedFiles = { Dockerfile: sha256(template) };
    writeFileSync(rcPath(project), `${JSON.stringify(rc, null, 2)}\n`);

    const check = runFrontEnd(frontEnd, ['--check'], project);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/^ {2}edited by you\s+Dockerfile$/m);
    const result = runFrontEnd(frontEnd, [], project);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('kept (edited by you): 1 (Dockerfile)');
    expect(readFileSync(dockerfile, 'utf8')).toBe(yours);
  });
});

describe('create-scdf-task --update', () => {
  test('with no folder, outside a project: refused, nothing created', () => {
    const cwd = tempDir();
    for (const args of [
      ['--update', '--defaults'],
      ['--update', '--task-name', 'orders-etl', '--defaults'],
    ]) {
      const result = runBin(args, cwd);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `create-scdf-task: --update updates a generated project, but ${cwd} holds no ` +
          '.yo-rc.json made by this generator; run it inside the project, or name project ' +
          'folders after --update\n',
      );
      expect(result.status).toBe(2);
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  test('with no folder, inside a project (from a subfolder too): updates it', () => {
    const project = committedProject('orders-etl');
    const result = runBin(['--update', '--image-tag', '0.3.0'], path.join(project, 'util'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `Updated ${project} (generator-scdf-task ${GENERATOR_VERSION})`,
    );
    expect(section(readRc(project)).imageTag).toBe('0.3.0');
  });

  test('over many projects, one with unresolved markers: its line names the file, exit 3', () => {
    const root = tempDir('scdf-fleet-');
    const clean = committedProject('clean-etl', [], root);
    const marked = committedProject('marked-etl', [], root);
    const dockerfile = path.join(marked, 'Dockerfile');
    writeFileSync(dockerfile, firstLine(readFileSync(dockerfile, 'utf8'), YOURS));
    const env = { SCDF_TASK_TEMPLATES: newerDockerfile() };
    expect(runBin([], marked, { env }).status).toBe(3);
    const result = runBin(['--update', clean, marked], root, { env });
    expect(result.stdout.split('\n').slice(1)).toEqual([
      `${marked}: unresolved conflict markers: Dockerfile`,
      '2 projects: 1 done, 1 with conflicts, 0 failed; exit 3',
      '',
    ]);
    expect(result.status).toBe(3);
  });
});
