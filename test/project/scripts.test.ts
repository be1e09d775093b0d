/**
 * The generated scripts and Data Flow shell command files: shellcheck-clean shell scripts, and
 * .shell files the Data Flow shell can run with --spring.shell.commandFile (Spring Shell 1.2 in
 * SCDF 2.9, 2.1 in 2.10/2.11, 3.x after): one command per line, `//` comments, quoting that the
 * shell's parser accepts, and the SCDF rules the commands must follow.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { Answers } from '../../core/inputs.js';
import { renderProject } from './fixture.js';

const SHELL_FILES = [
  'scdf/cleanup.shell',
  'scdf/composed-parallel.shell',
  'scdf/composed-sequence.shell',
  'scdf/executions.shell',
  'scdf/launch-failing.shell',
  'scdf/launch.shell',
  'scdf/register.shell',
];

const VARIANTS: Partial<Answers>[] = [
  { bootVersion: '2' },
  {
    bootVersion: '3',
    taskName: 'nightly-report',
    dockerPrefix: 'registry.example.com:5000/team/batch',
  },
];

interface Word {
  readonly text: string;
  readonly quoted: boolean;
}

/** Splits a shell command line into words; double quotes group, and are removed. */
function words(line: string): Word[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) =>
    match[1] !== undefined
      ? { text: match[1], quoted: true }
      : { text: match[2] ?? '', quoted: false },
  );
}

/**
 * `--option value` pairs of a command line; a flag without a value maps to ''. A quoted value
 * that starts with "--" (`--arguments "--a=1"`) is a value, as the shell parses it.
 */
function options(line: string): Map<string, string> {
  const list = words(line);
  const result = new Map<string, string>();
  list.forEach((word, i) => {
    if (word.quoted || !word.text.startsWith('--')) return;
    const next = list[i + 1];
    const isValue = next !== undefined && (next.quoted || !next.text.startsWith('--'));
    result.set(word.text.slice(2), isValue ? next.text : '');
  });
  return result;
}

/** The labels and app names a composed DSL refers to (`t1: timestamp && x` -> t1, x). */
function dslSteps(dsl: string): string[] {
  const steps: string[] = [];
  for (const part of dsl.split(/&&|\|\||[<>]/)) {
    const step = part.trim();
    if (step === '') continue;
    const labelled = /^([\w-]+)\s*:\s*[\w-]+/.exec(step);
    steps.push(labelled?.[1] ?? step.split(/\s+/)[0] ?? '');
  }
  return steps;
}

const COMMANDS = [
  'app register',
  'app default',
  'app unregister',
  'task create',
  'task launch',
  'task list',
  'task execution list',
  'task destroy',
];

describe.each(VARIANTS)('generated scripts for %j', (given) => {
  const project = renderProject(given);
  const { taskName, imageTag, dockerPrefix, bootVersion } = project.answers;
  const imageRef = `${dockerPrefix}/${taskName}:${imageTag}`;
  const shellScripts = project.files.filter((file) => file.path.endsWith('.sh'));

  test('shellcheck passes on every generated shell script', () => {
    // The CI scripts of the default --ci github; test/ci/lint.test.ts checks GitLab's.
    expect(shellScripts.map((file) => file.path)).toEqual([
      'scripts/conflict-markers.sh',
      'scripts/scdf-rest.sh',
      'scripts/template-update.sh',
    ]);
    const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    // Fail, not skip: shellcheck comes from Debian (apt-get install shellcheck).
    expect(version.error).toBeUndefined();
    for (const file of shellScripts) {
      const result = spawnSync(
        'shellcheck',
        [
          '--severity=style',
          '--shell=bash',
          '--external-sources',
          path.join(project.dir, file.path),
        ],
        { encoding: 'utf8' },
      );
      expect({ file: file.path, output: result.stdout + result.stderr }).toEqual({
        file: file.path,
        output: '',
      });
      expect(result.status).toBe(0);
    }
  });

  test('shell scripts are executable bash with strict mode', () => {
    for (const file of shellScripts) {
      expect(file.executable).toBe(true);
      expect(file.content.split('\n')[0]).toBe('#!/usr/bin/env bash');
      expect(file.content).toMatch(/^set -euo pipefail$/m);
    }
  });

  test('exactly the Data Flow shell command files the README lists', () => {
    const shellFiles = project.files.filter((file) => file.path.startsWith('scdf/'));
    expect(shellFiles.map((file) => file.path)).toEqual(SHELL_FILES);
    for (const file of SHELL_FILES) expect(project.read('README.md')).toContain(`\`${file}\``);
  });

  test.each(SHELL_FILES)('%s: one known command per line, comments the shells skip', (file) => {
    const lines = project.read(file).split('\n');
    expect(lines.at(-1)).toBe('');
    for (const line of lines.slice(0, -1)) {
      // Spring Shell 1.2 skips lines starting with // or #, 2.1 and 3.x only //; 1.2 also treats
      // a /* ... */ pair on a line as a block comment, and 2.1 parses comment lines for quotes.
      if (line.startsWith('//')) {
        expect(line).not.toMatch(/\/\*|\*\/|'/);
        expect((line.match(/"/g) ?? []).length % 2).toBe(0);
        continue;
      }
      expect(line).not.toBe('');
      expect(line).toBe(line.trim());
      expect(COMMANDS.some((command) => line.startsWith(`${command} `) || line === command)).toBe(
        true,
      );
      expect((line.match(/"/g) ?? []).length % 2).toBe(0);
      expect(line).not.toMatch(/'/);
    }
  });

  const commands = (file: string) =>
    project
      .read(file)
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('//'));

  test('register.shell registers the image (Boot 3 only when chosen), makes its tag default, creates the definition', () => {
    const boot = bootVersion === '3' ? ' --bootVersion 3' : '';
    expect(commands('scdf/register.shell')).toEqual([
      `app register --name ${taskName} --type task --uri docker:${imageRef}${boot} --force`,
      `app default --id task:${taskName} --version ${imageTag}`,
      `task create --name ${taskName} --definition "${taskName}"`,
    ]);
  });

  test('launch.shell and launch-failing.shell launch the definition; every argument has "="', () => {
    expect(commands('scdf/launch.shell')).toEqual([`task launch --name ${taskName}`]);
    const [failing, ...rest] = commands('scdf/launch-failing.shell');
    expect(rest).toEqual([]);
    const launch = options(failing ?? '');
    expect(launch.get('name')).toBe(taskName);
    const args = launch.get('arguments') ?? '';
    // SCDF 2.11 drops ALL arguments when the string has no "=", and splits it at every space
    // (DeploymentPropertiesUtils.parseArgumentList): a piece without "=" is glued back onto the
    // one before only in some positions. A piece of its own per argument is what survives.
    expect(args).toMatch(/^--error\.message=\S+$/);
    for (const piece of args.split(' ')) expect(piece).toMatch(/^--[\w.-]+=\S+$/);
  });

  test('composed tasks use labels, and launch properties name a label or app of their DSL', () => {
    for (const [file, name, dsl] of [
      [
        'scdf/composed-parallel.shell',
        `${taskName}-parallel`,
        `<a: ${taskName}-step || b: ${taskName}-step>`,
      ],
      [
        'scdf/composed-sequence.shell',
        `${taskName}-sequence`,
        `t1: timestamp && ${taskName} && t2: timestamp`,
      ],
    ] as const) {
      const lines = commands(file);
      const create = lines.find((line) => line.startsWith('task create'));
      expect(options(create ?? '').get('name')).toBe(name);
      expect(options(create ?? '').get('definition')).toBe(dsl);
      const launch = lines.find((line) => line.startsWith('task launch'));
      expect(options(launch ?? '').get('name')).toBe(name);
      const steps = dslSteps(dsl);
      const keys = (options(launch ?? '').get('properties') ?? '').split(',');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const [kind, step] = key.split('.');
        expect(['app', 'deployer']).toContain(kind);
        // The definition name is never the key: SCDF keys child properties by label or app name.
        expect(steps).toContain(step);
      }
    }
    expect(dslSteps(`t1: timestamp && ${taskName} && t2: timestamp`)).toEqual([
      't1',
      taskName,
      't2',
    ]);
  });

  test('no labelled composed step uses an app that register.shell made a definition of the same name', () => {
    // SCDF 2.11 refuses such a step at launch: "Expected one entry in [app,label, app]"
    // (DefaultTaskExecutionInfoService.extractNames); the files run right after register.shell.
    const defined = new Set(
      commands('scdf/register.shell')
        .filter((line) => line.startsWith('task create '))
        .map((line) => options(line).get('name')),
    );
    expect(defined).toEqual(new Set([taskName]));
    for (const file of ['scdf/composed-parallel.shell', 'scdf/composed-sequence.shell']) {
      for (const line of commands(file).filter((l) => l.startsWith('task create '))) {
        const dsl = options(line).get('definition') ?? '';
        for (const [, , app] of dsl.matchAll(/([\w-]+)\s*:\s*([\w-]+)/g)) {
          expect({ file, app, defined: defined.has(app) }).toEqual({ file, app, defined: false });
        }
      }
    }
  });

  test('composed-parallel.shell registers the image as the step app, with the Boot version, and makes its tag default', () => {
    const boot = bootVersion === '3' ? ' --bootVersion 3' : '';
    expect(commands('scdf/composed-parallel.shell').slice(0, 2)).toEqual([
      `app register --name ${taskName}-step --type task --uri docker:${imageRef}${boot} --force`,
      `app default --id task:${taskName}-step --version ${imageTag}`,
    ]);
  });

  test('composed-sequence.shell registers the timestamp app it uses, with a tag', () => {
    expect(commands('scdf/composed-sequence.shell')[0]).toBe(
      'app register --name timestamp --type task --uri docker:springcloudtask/timestamp-task:2.0.2 --force',
    );
  });

  test('executions.shell lists; cleanup.shell destroys with --cleanup and unregisters', () => {
    expect(commands('scdf/executions.shell')).toEqual([
      'task list',
      `task execution list --name ${taskName}`,
    ]);
    expect(commands('scdf/cleanup.shell')).toEqual([
      `task destroy --name ${taskName} --cleanup`,
      `app unregister --name ${taskName} --type task`,
      `task destroy --name ${taskName}-parallel --cleanup`,
      `app unregister --name ${taskName}-step --type task`,
      `task destroy --name ${taskName}-sequence --cleanup`,
      'app unregister --name timestamp --type task',
    ]);
  });

  test('cleanup.shell destroys every definition and unregisters every app the other files make', () => {
    const made = { definitions: new Set<string>(), apps: new Set<string>() };
    for (const file of SHELL_FILES.filter((f) => f !== 'scdf/cleanup.shell')) {
      for (const line of commands(file)) {
        const name = options(line).get('name') ?? '';
        if (line.startsWith('task create ')) made.definitions.add(name);
        if (line.startsWith('app register ')) made.apps.add(name);
      }
    }
    const cleanup = commands('scdf/cleanup.shell');
    const removed = {
      definitions: new Set(
        cleanup
          .filter((line) => line.startsWith('task destroy '))
          .map((line) => options(line).get('name') ?? ''),
      ),
      apps: new Set(
        cleanup
          .filter((line) => line.startsWith('app unregister '))
          .map((line) => options(line).get('name') ?? ''),
      ),
    };
    expect(removed).toEqual(made);
    // What register.shell made goes first: a run after register.shell alone removes all of it
    // before it stops at the first composed definition, which does not exist then.
    expect(cleanup.slice(0, 2).map((line) => options(line).get('name'))).toEqual([
      taskName,
      taskName,
    ]);
  });
});
