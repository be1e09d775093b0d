import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { INPUTS } from '../../core/inputs.js';
import { GENERATOR_VERSION, planProject } from '../../core/project-files.js';
import {
  FRONT_ENDS,
  readTree,
  runBin,
  runFrontEnd,
  snapshotTree,
  tempDir,
} from '../support/cli.js';

const GOOD = ['--database', 'postgresql', '--docker-prefix', 'ghcr.io/acme'];

describe.each(FRONT_ENDS)('%s front end, non-interactive', (frontEnd) => {
  const runBin = (args: readonly string[], cwd: string) => runFrontEnd(frontEnd, args, cwd);

  test('generates ./<task-name>/ with exactly the planned files and .yo-rc.json', () => {
    const cwd = tempDir();
    const result = runBin(['my-task', ...GOOD, '--defaults'], cwd);
    expect(result.status).toBe(0);
    const tree = readTree(path.join(cwd, 'my-task'));
    const expected = planProject(
      withDefaults({ taskName: 'my-task', database: 'postgresql', dockerPrefix: 'ghcr.io/acme' }),
    );
    expect(Object.keys(tree)).toEqual(
      [...expected.map((file) => file.path), '.yo-rc.json'].sort((a, b) => (a < b ? -1 : 1)),
    );
    for (const file of expected) expect(tree[file.path]).toBe(file.content);
    const stored = JSON.parse(tree['.yo-rc.json'] ?? '{}') as Record<
      string,
      Record<string, unknown>
    >;
    expect(stored['generator-scdf-task']).toMatchObject({
      taskName: 'my-task',
      database: 'postgresql',
      dockerPrefix: 'ghcr.io/acme',
      imageTag: '0.1.0',
      pythonVersion: '3.14',
      bootVersion: '2',
      generatorVersion: GENERATOR_VERSION,
    });
    expect(result.stdout).toContain('Next steps:');
    expect(result.stdout).toContain('docker build -t ghcr.io/acme/my-task:0.1.0 .');
    // The venv is made with whatever supported python3 there is: the lock is universal.
    expect(result.stdout).toContain(
      '  python3 -m venv .venv && . .venv/bin/activate   # python3: any of 3.11 to 3.14\n',
    );
    expect(result.stdout).not.toMatch(/python3\.\d+ -m venv/);
    expect(Object.keys(readTree(cwd)).every((p) => p.startsWith('my-task/'))).toBe(true);
  });

  test('--task-name works like the positional argument; defaults fill the rest', () => {
    const cwd = tempDir();
    const result = runBin(['--task-name', 'nightly-etl', '--defaults'], cwd);
    expect(result.status).toBe(0);
    const stored = JSON.parse(
      readFileSync(path.join(cwd, 'nightly-etl', '.yo-rc.json'), 'utf8'),
    ) as Record<string, Record<string, unknown>>;
    const expected: Record<string, unknown> = {};
    for (const input of INPUTS) expected[input.key] = input.default;
    expected.taskName = 'nightly-etl';
    expect(stored['generator-scdf-task']).toMatchObject(expected);
  });

  test('generated scripts are executable', () => {
    const cwd = tempDir();
    expect(runBin(['my-task', '--defaults'], cwd).status).toBe(0);
    const tree = snapshotTree(path.join(cwd, 'my-task'));
    const scripts = Object.entries(tree).filter(([p]) => p.endsWith('.sh'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, entry] of scripts) expect(entry.startsWith('755 ')).toBe(true);
  });

  test('two runs with the same answers write byte-identical files', () => {
    const first = tempDir();
    const second = tempDir();
    const args = ['my-task', ...GOOD, '--defaults'];
    expect(runBin(args, first).status).toBe(0);
    expect(runBin(args, second).status).toBe(0);
    expect(snapshotTree(second)).toEqual(snapshotTree(first));
  });

  test('with no terminal and no --defaults, a missing input stops the run naming the options', () => {
    const cwd = tempDir();
    const result = runBin(['my-task', '--database', 'mysql'], cwd);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no terminal to ask on');
    expect(result.stderr).toContain('--docker-prefix');
    expect(result.stderr).not.toContain('--database,');
    expect(snapshotTree(cwd)).toEqual({});
  });

  test('with every input given, no terminal is needed even without --defaults', () => {
    const cwd = tempDir();
    const args = ['t', '--database', 'db2', '--docker-prefix', 'p', '--image-tag', '1'];
    const result = runBin(
      [...args, '--python-version', '3.12', '--boot-version', '3', '--ci', 'gitlab'],
      cwd,
    );
    expect(result.status).toBe(0);
    expect(existsSync(path.join(cwd, 't', '.yo-rc.json'))).toBe(true);
  });

  test('a non-empty folder that is not a generated project is refused without --force', () => {
    const cwd = tempDir();
    mkdirSync(path.join(cwd, 'my-task'));
    writeFileSync(path.join(cwd, 'my-task', 'notes.txt'), 'mine\n');
    const before = snapshotTree(cwd);
    const refused = runBin(['my-task', '--defaults'], cwd);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('is not empty');
    expect(refused.stderr).toContain('--force');
    expect(snapshotTree(cwd)).toEqual(before);
    const forced = runBin(['my-task', '--defaults', '--force'], cwd);
    expect(forced.status).toBe(0);
    expect(readFileSync(path.join(cwd, 'my-task', 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(cwd, 'my-task', 'python_task.py'))).toBe(true);
  });

  test('an unknown option is refused before anything happens', () => {
    const cwd = tempDir();
    const result = runBin(['my-task', '--databse', 'mysql', '--defaults'], cwd);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option --databse (closest known option: --database)');
    expect(snapshotTree(cwd)).toEqual({});
  });
});

describe('create-scdf-task only', () => {
  test('--help lists every option with its description and default; --version prints it', () => {
    const cwd = tempDir();
    const help = runBin(['--help'], cwd);
    expect(help.status).toBe(0);
    for (const input of INPUTS) {
      const line = help.stdout
        .split('\n')
        .find((l) => l.trimStart().startsWith(`--${input.option} `));
      expect(line).toBeDefined();
      expect(line).toContain(input.description);
      expect(line).toContain(`default: ${input.default}`);
    }
    for (const flag of ['--defaults', '--check', '--force', '--base <path>'])
      expect(help.stdout).toContain(flag);
    const version = runBin(['--version'], cwd);
    expect(version.stdout).toBe(`${GENERATOR_VERSION}\n`);
    expect(snapshotTree(cwd)).toEqual({});
  });

  test('more than one task name is refused', () => {
    const cwd = tempDir();
    const result = runBin(['a', 'b', '--defaults'], cwd);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('expected at most one task name, got: a b');
    expect(snapshotTree(cwd)).toEqual({});
  });
});

/** One row per kind of bad value, for every input given as an option. */
const BAD_OPTIONS: [option: string, value: string, rule: string][] = [
  ['task-name', 'My_Task', 'lower-case letters'],
  ['task-name', '../x', 'lower-case letters'],
  ['task-name', 'a'.repeat(64), 'at most 63 characters'],
  ['task-name', '$(id)', 'lower-case letters'],
  ['task-name', '', 'must not be empty'],
  ['database', 'postgres', 'must be one of'],
  ['database', 'h2', 'must be one of'],
  ['ci', 'jenkins', 'must be one of: github, gitlab, none'],
  ['docker-prefix', 'ghcr.io/acme/', 'must not end with "/"'],
  ['docker-prefix', 'ghcr.io/acme:1.0', 'must not contain a tag'],
  [
    'docker-prefix',
    'GHCR.io/Acme',
    'has upper-case letters; a registry and/or namespace is lower case: "ghcr.io/acme"',
  ],
  ['docker-prefix', 'acme;rm -rf', 'registry and/or namespace'],
  ['image-tag', '.hidden', 'letters, digits'],
  ['image-tag', '1.0 beta', 'letters, digits'],
  ['python-version', '3.9', 'must be one of: 3.11'],
  ['boot-version', 'boot3', 'must be one of: 2, 3'],
];

describe.each(FRONT_ENDS)('%s front end, bad option values', (frontEnd) => {
  const runBin = (args: readonly string[], cwd: string) => runFrontEnd(frontEnd, args, cwd);

  test.each(BAD_OPTIONS)(
    '--%s %j: exit 2, names option and rule, writes nothing',
    (option, value, rule) => {
      const cwd = tempDir();
      writeFileSync(path.join(cwd, 'existing.txt'), 'untouched\n');
      const before = snapshotTree(cwd);
      const result = runBin(['my-task', `--${option}=${value}`, '--defaults'], cwd);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`--${option}: ${JSON.stringify(value)} is not valid`);
      expect(result.stderr).toContain(rule);
      expect(snapshotTree(cwd)).toEqual(before);
    },
  );

  test('a bad positional task name names --task-name', () => {
    const cwd = tempDir();
    const result = runBin(['Bad Name', '--defaults'], cwd);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--task-name: "Bad Name" is not valid');
    expect(snapshotTree(cwd)).toEqual({});
  });

  test('a bad value stored in .yo-rc.json stops the update and names the key and option', () => {
    const cwd = tempDir();
    expect(runBin(['my-task', '--defaults'], cwd).status).toBe(0);
    const project = path.join(cwd, 'my-task');
    const rcPath = path.join(project, '.yo-rc.json');
    const rc = JSON.parse(readFileSync(rcPath, 'utf8')) as Record<string, Record<string, unknown>>;
    const section = rc['generator-scdf-task'] ?? {};
    section.dockerPrefix = 'Registry/With/Caps';
    writeFileSync(rcPath, JSON.stringify(rc));
    writeFileSync(path.join(project, 'Dockerfile'), 'edited\n');
    const before = snapshotTree(project);
    const result = runBin([], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      '.yo-rc.json "dockerPrefix" (option --docker-prefix): "Registry/With/Caps" is not valid',
    );
    expect(snapshotTree(project)).toEqual(before);
  });
});
