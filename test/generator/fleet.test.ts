import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATOR_VERSION } from '../../core/project-files.js';
import {
  FRONT_ENDS,
  runBin,
  runFrontEnd,
  runYo,
  snapshotTree,
  tempDir,
  tempDirForYo,
} from '../support/cli.js';

/** Three projects side by side: one untouched, one edited by its team, one with drift. */
function smallFleet(root = tempDir('scdf-fleet-')): { root: string; names: string[] } {
  const names = ['alpha-etl', 'beta-etl', 'gamma-etl'];
  for (const name of names) expect(runBin([name, '--defaults'], root).status).toBe(0);
  appendFileSync(path.join(root, 'beta-etl', 'python_task.py'), '# team edit\n');
  const rcPath = path.join(root, 'gamma-etl', '.yo-rc.json');
  const rc = JSON.parse(readFileSync(rcPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const section = rc['generator-scdf-task'] ?? {};
  section.imageTag = '9.9.9';
  writeFileSync(rcPath, JSON.stringify(rc));
  return { root, names };
}

describe.each(FRONT_ENDS)('%s front end over many projects in one process', (frontEnd) => {
  const runBin = (args: readonly string[], cwd: string, options = {}) =>
    runFrontEnd(frontEnd, args, cwd, options);

  test('--check DIR...: one line per project, a total, the worst exit code; nothing written', () => {
    const { root, names } = smallFleet();
    writeFileSync(path.join(root, 'not-a-project.txt'), 'x\n');
    mkdirSync(path.join(root, 'empty'));
    const before = snapshotTree(root);
    const result = runBin(['--check', ...names, 'empty'], root);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(2);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `${path.join(root, 'alpha-etl')}: up to date with generator-scdf-task ${GENERATOR_VERSION}`,
      `${path.join(root, 'beta-etl')}: up to date with generator-scdf-task ${GENERATOR_VERSION} (edited by you 1)`,
      expect.stringMatching(new RegExp(`^${path.join(root, 'gamma-etl')}: template changed \\d+$`)),
      `empty: error: ${path.join(root, 'empty')} holds no .yo-rc.json made by generator-scdf-task`,
      '4 projects: 2 up to date, 1 would change, 0 with conflicts, 1 failed; exit 2',
    ]);
    expect(snapshotTree(root)).toEqual(before);
  });

  test('--check --stdin reads the folders from standard input; "-" does the same', () => {
    const { root, names } = smallFleet();
    const list = `${names.join('\n')}\n\n# comments and blank lines are skipped\n`;
    for (const args of [
      ['--check', '--stdin'],
      ['--check', '-'],
    ]) {
      const result = runBin(args, root, { input: list });
      expect(result.status).toBe(1);
      expect(result.stdout).toContain(
        '3 projects: 2 up to date, 1 would change, 0 with conflicts, 0 failed; exit 1',
      );
    }
  });
});

describe('create-scdf-task over many projects in one process', () => {
  test('--update DIR... updates each project in place and prints one line each', () => {
    const { root, names } = smallFleet();
    const result = runBin(['--update', ...names.map((name) => path.join(root, name))], root);
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${path.join(root, 'alpha-etl')}: up to date`);
    expect(lines[1]).toBe(`${path.join(root, 'beta-etl')}: kept 1`);
    expect(lines[2]).toMatch(/gamma-etl: updated \d+$/);
    expect(lines[3]).toBe('3 projects: 3 done, 0 with conflicts, 0 failed; exit 0');
    expect(readFileSync(path.join(root, 'gamma-etl', 'scdf', 'register.shell'), 'utf8')).toContain(
      ':9.9.9',
    );
    expect(readFileSync(path.join(root, 'beta-etl', 'python_task.py'), 'utf8')).toContain(
      '# team edit',
    );
    const recheck = runBin(['--check', ...names], root);
    expect(recheck.status).toBe(0);
  });

  test('--task-name cannot be applied to many projects', () => {
    const { root, names } = smallFleet();
    const before = snapshotTree(root);
    const result = runBin(['--update', ...names, '--task-name', 'same'], root);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--task-name cannot be given for many projects at once');
    expect(snapshotTree(root)).toEqual(before);
  });
});

test('the real yo checks many projects in one run, with the summary line', () => {
  const { root, names } = smallFleet(tempDirForYo('scdf-fleet-'));
  const before = snapshotTree(root);
  const result = runYo([...names, '--check'], root);
  expect(result.stderr).toBe('');
  expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
    '3 projects: 2 up to date, 1 would change, 0 with conflicts, 0 failed; exit 1',
  );
  expect(result.status).toBe(1);
  expect(snapshotTree(root)).toEqual(before);
});
