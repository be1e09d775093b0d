import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { closestOption, kebabCase } from '../../core/options.js';
import { normalizeAnswer, questionsFor } from '../../core/questions.js';
import { closestValue, DATABASES, PYTHON_VERSIONS } from '../../core/validators.js';
import { REPO_ROOT } from '../support/paths.js';

const FRONT_END_SOURCES = [
  'bin/create-scdf-task.ts',
  'generators/app/index.ts',
  'generators/app/prompts.ts',
];

function source(relPath: string): string {
  return readFileSync(path.join(REPO_ROOT, relPath), 'utf8');
}

describe('front ends only translate; run-level behaviour is in the core', () => {
  test.each(FRONT_END_SOURCES)('%s runs no project, prints no summary, trims no answer', (file) => {
    const text = source(file);
    // One project or many, the summary line and the exit code: core/command.ts.
    expect(text).not.toContain('runProject');
    expect(text).not.toMatch(/\$\{[^}]*\} projects: /);
    expect(text).not.toContain('worstExitCode');
    // Answers are normalised in one place: core/questions.ts normalizeAnswer.
    expect(text).not.toMatch(/\.trim\(\)/);
  });

  test('answers are normalised by one rule, used by the prompt and by the core', () => {
    expect(normalizeAnswer('  my-task \t')).toBe('my-task');
    const [taskName] = questionsFor(['taskName']);
    expect(taskName?.validate(' my-task ')).toBe(true);
    expect(source('core/run.ts')).toContain('normalizeAnswer(value)');
  });
});

describe('closest option', () => {
  const known = [
    'task-name',
    'database',
    'docker-prefix',
    'image-tag',
    'defaults',
    'check',
    'force',
  ];
  test.each([
    ['databse', 'database'],
    ['data', 'database'],
    ['foo', 'force'],
    ['docker_prefix', 'docker-prefix'],
    ['imagetag', 'image-tag'],
    ['chek', 'check'],
    ['Database', 'database'],
  ])('--%s → --%s', (given, expected) => {
    expect(closestOption(given, known)).toBe(expected);
  });

  test('a short option in the other case: -V is -v', () => {
    expect(closestOption('V', ['h', 'v'])).toBe('v');
  });

  test('yo camelCases options; a leading capital is not a word break', () => {
    expect(kebabCase('dockerPrefix')).toBe('docker-prefix');
    expect(kebabCase('Database')).toBe('Database');
    expect(kebabCase('_meta')).toBe('_meta');
  });
});

describe('closest value of a choice ("did you mean")', () => {
  test.each([
    ['postgres', 'postgresql'],
    ['MariaDB', 'mariadb'],
    ['POSTGRESQL', 'postgresql'],
    ['maria', 'mariadb'],
    ['mysq', 'mysql'],
    ['oracel', 'oracle'],
    ['sqlserver2019', 'sqlserver'],
  ])('%s → %s', (typed, meant) => {
    expect(closestValue(typed, DATABASES)).toBe(meant);
  });

  test.each([
    ['h2', DATABASES],
    ['pg', DATABASES],
    ['', DATABASES],
    // 3.11 to 3.14 are all one edit away: any guess would be a coin toss.
    ['3.15', PYTHON_VERSIONS],
    ['3.9', PYTHON_VERSIONS],
  ])('%s: no guess', (typed, allowed) => {
    expect(closestValue(typed, allowed)).toBeUndefined();
  });
});
