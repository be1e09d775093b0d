import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import helpers from 'yeoman-test';
import { INPUTS } from '../../core/inputs.js';
import { questionsFor } from '../../core/questions.js';
import { toYeomanQuestion } from '../../generators/app/prompts.js';
import { REPO_ROOT } from '../support/paths.js';

const GENERATOR = path.join(REPO_ROOT, 'lib/generators/app/index.js');

/** The generator's own options, which yeoman-test's types do not know about. */
function options(values: Record<string, string | boolean>): Record<string, never> {
  return values as Record<string, never>;
}

function storedAnswers(cwd: string, taskName: string): Record<string, unknown> {
  const rc = JSON.parse(readFileSync(path.join(cwd, taskName, '.yo-rc.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  return rc['generator-scdf-task'] ?? {};
}

describe('prompts', () => {
  test('asks every input when nothing is given, and stores the answers', async () => {
    const answers = {
      taskName: 'asked-task',
      database: 'oracle',
      dockerPrefix: 'registry.example.com:5000/team/batch',
      imageTag: '2.0.0',
      pythonVersion: '3.12',
      bootVersion: '3',
      ci: 'gitlab',
    };
    const result = await helpers.run(GENERATOR).withAnswers(answers);
    expect(result.askedQuestions.map((q) => q.name)).toEqual(INPUTS.map((input) => input.key));
    expect(storedAnswers(result.cwd, 'asked-task')).toMatchObject(answers);
  });

  test('asks only the inputs not given as options', async () => {
    const result = await helpers
      .run(GENERATOR)
      .withArguments(['given-task'])
      .withOptions(options({ database: 'sqlserver', 'docker-prefix': 'ghcr.io/acme' }))
      .withAnswers({ imageTag: '1.2.3', pythonVersion: '3.13', bootVersion: '2', ci: 'none' });
    expect(result.askedQuestions.map((q) => q.name)).toEqual([
      'imageTag',
      'pythonVersion',
      'bootVersion',
      'ci',
    ]);
    expect(storedAnswers(result.cwd, 'given-task')).toMatchObject({
      taskName: 'given-task',
      database: 'sqlserver',
      dockerPrefix: 'ghcr.io/acme',
      imageTag: '1.2.3',
    });
  });

  test('--defaults asks nothing', async () => {
    const result = await helpers.run(GENERATOR).withOptions(options({ defaults: true }));
    expect(result.askedQuestions).toEqual([]);
    expect(storedAnswers(result.cwd, 'python-task')).toMatchObject({ database: 'mariadb' });
  });

  test('each free-text prompt validates with the input rule, trimmed; choices are fixed', () => {
    // yeoman-test does not run validate(), so check the questions the generator hands over.
    const questions = questionsFor(INPUTS.map((input) => input.key)).map(toYeomanQuestion);
    const byName = Object.fromEntries(questions.map((q) => [q.name, q])) as Record<
      string,
      { validate?: (v: string) => unknown; choices?: unknown; type?: string }
    >;
    expect(byName.taskName?.validate?.(' Bad Name ')).toMatch(/lower-case letters/);
    expect(byName.taskName?.validate?.(' good-name ')).toBe(true);
    expect(byName.dockerPrefix?.validate?.('ghcr.io/acme:1.0')).toMatch(/must not contain a tag/);
    expect(byName.imageTag?.validate?.('-x')).toMatch(/letters, digits/);
    expect(byName.database?.type).toBe('select');
    expect(byName.database?.choices).toEqual([
      'mysql',
      'mariadb',
      'postgresql',
      'sqlserver',
      'oracle',
      'db2',
    ]);
  });

  test('a mocked answer that breaks a rule is refused like an option, nothing written', async () => {
    const result = await helpers.run(GENERATOR).withAnswers({ taskName: 'Bad Name' });
    expect(process.exitCode).toBe(2);
    expect(readdirSync(result.cwd)).toEqual([]);
    process.exitCode = 0;
  });
});
