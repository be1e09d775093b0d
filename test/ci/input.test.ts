/**
 * The CI system input: recorded like every answer, so an update keeps the pipeline current and a
 * changed answer moves the project to the other system; a project made before the input existed
 * keeps its files (no pipeline) until --ci is given.
 */
import { expect, test } from '@jest/globals';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { changedPaths, committedProject, runBin, snapshotTree, tempDir } from '../support/cli.js';

const PIPELINES = {
  github: [
    '.github/workflows/ci.yml',
    '.github/workflows/template-update.yml',
    'scripts/conflict-markers.sh',
    'scripts/template-update.sh',
  ],
  gitlab: ['.gitlab-ci.yml', 'scripts/conflict-markers.sh', 'scripts/template-update.sh'],
  none: [],
} as const;
const ALL = ['.github/workflows/ci.yml', '.github/workflows/template-update.yml', '.gitlab-ci.yml'];
const present = (project: string) =>
  [...ALL, 'scripts/conflict-markers.sh', 'scripts/template-update.sh'].filter((file) =>
    existsSync(path.join(project, file)),
  );
const rc = (project: string) =>
  JSON.parse(readFileSync(path.join(project, '.yo-rc.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;

test.each(['github', 'gitlab', 'none'] as const)('--ci %s: its files, recorded', (ci) => {
  const project = committedProject('orders-etl', ['--ci', ci]);
  expect(present(project).sort()).toEqual([...PIPELINES[ci]].sort());
  expect(rc(project)['generator-scdf-task']?.ci).toBe(ci);
  // The scripts are executable, as every generated .sh is.
  for (const file of PIPELINES[ci].filter((name) => name.endsWith('.sh')))
    expect(statSync(path.join(project, file)).mode & 0o111).toBe(0o111);
});

test('the default is github', () => {
  const project = committedProject('orders-etl');
  expect(rc(project)['generator-scdf-task']?.ci).toBe('github');
});

test('a changed answer moves the project: github -> gitlab -> none', () => {
  const project = committedProject('orders-etl', ['--ci', 'github']);
  const toGitlab = runBin(['--ci', 'gitlab'], project);
  expect(toGitlab.stderr).toBe('');
  expect(toGitlab.status).toBe(0);
  expect(toGitlab.stdout).toContain('answers changed: --ci: github -> gitlab');
  expect(changedPaths(project)).toEqual([
    ' D .github/workflows/ci.yml',
    ' D .github/workflows/template-update.yml',
    ' M .yo-rc.json',
    ' M README.md',
    ' M docs/ci-pipelines.md',
    ' M docs/files.md',
    ' M scripts/template-update.sh',
    '?? .gitlab-ci.yml',
  ]);
  expect(present(project).sort()).toEqual([...PIPELINES.gitlab].sort());
  const toNone = runBin(['--ci', 'none'], project);
  expect(toNone.status).toBe(0);
  expect(present(project)).toEqual([]);
  // --check with the same answer is then up to date.
  expect(runBin(['--check'], project).status).toBe(0);
});

test('a project recording no CI answer (made before it existed) keeps its files on update', () => {
  const project = committedProject('orders-etl', ['--ci', 'none']);
  const file = path.join(project, '.yo-rc.json');
  const stored = rc(project);
  delete stored['generator-scdf-task']?.ci;
  writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`);
  // No terminal, no --defaults: nothing is asked, nothing but the answer's record changes.
  const check = runBin(['--check'], project);
  expect(check.stdout).toContain('up to date');
  expect(check.status).toBe(0);
  const update = runBin([], project);
  expect(update.stderr).toBe('');
  expect(update.status).toBe(0);
  expect(present(project)).toEqual([]);
  expect(rc(project)['generator-scdf-task']?.ci).toBe('none');
  // Opting in is one option.
  expect(runBin(['--ci', 'github'], project).status).toBe(0);
  expect(present(project).sort()).toEqual([...PIPELINES.github].sort());
});

test('a bad value: the option and the rule named, exit 2, nothing written', () => {
  const cwd = tempDir();
  const result = runBin(['orders-etl', '--defaults', '--ci', 'jenkins'], cwd);
  expect(result.status).toBe(2);
  expect(result.stderr).toBe(
    'create-scdf-task: --ci: "jenkins" is not valid: must be one of: github, gitlab, none\n',
  );
  expect(snapshotTree(cwd)).toEqual({});
});
