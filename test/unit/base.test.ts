import { describe, expect, test } from '@jest/globals';
import { withDefaults } from '../../core/answers.js';
import { updateBase } from '../../core/base.js';
import { sha256 } from '../../core/hash.js';
import type { Project } from '../../core/locate.js';
import { GENERATOR_VERSION } from '../../core/package-info.js';
import { planProject, type PlannedFile } from '../../core/project-files.js';
import type { StoredState } from '../../core/project-state.js';

const answers = withDefaults({ taskName: 'job', database: 'postgresql' });
const plan = planProject(answers);
function planned(relPath: string): PlannedFile {
  const file = plan.find((candidate) => candidate.path === relPath);
  if (!file) throw new Error(`the plan has no ${relPath}`);
  return file;
}
const readme = planned('README.md');
const dockerfile = planned('Dockerfile');

function project(state: Partial<StoredState>): Project {
  return {
    root: '/nowhere',
    store: {},
    state: { answers: { ...answers }, managedFiles: {}, unknown: {}, ...state },
  };
}

describe('updateBase', () => {
  test('no project: no base, no text, nothing to report', async () => {
    const none = updateBase(undefined, '/');
    expect(none.base.size).toBe(0);
    expect(await none.content('README.md')).toBeUndefined();
    expect(none.unavailable()).toBeUndefined();
  });

  test('the text is rendered again from the recorded answers when it hashes as recorded', async () => {
    const base = updateBase(
      project({
        generatorVersion: GENERATOR_VERSION,
        lastGenerated: {
          'README.md': { owner: 'managed', sha256: sha256(readme.content) },
          Dockerfile: { owner: 'user', sha256: sha256(dockerfile.content) },
        },
      }),
      '/',
    );
    expect([...base.base.keys()]).toEqual(['README.md', 'Dockerfile']);
    expect(base.base.get('Dockerfile')?.owner).toBe('user');
    expect(await base.content('README.md')).toBe(readme.content);
    expect(await base.content('Dockerfile')).toBe(dockerfile.content);
    expect(readme.content).toContain('job');
    expect(base.unavailable()).toBeUndefined();
  });

  test('a render that is not what was recorded is not used, and the paths are named', async () => {
    const base = updateBase(
      project({
        generatorVersion: GENERATOR_VERSION,
        lastGenerated: {
          'README.md': { owner: 'managed', sha256: sha256(`${readme.content}edited`) },
          Dockerfile: { owner: 'managed', sha256: sha256(dockerfile.content) },
          'gone.py': { owner: 'managed', sha256: sha256('x') },
        },
      }),
      '/',
    );
    expect(await base.content('README.md')).toBeUndefined();
    expect(await base.content('Dockerfile')).toBe(dockerfile.content);
    expect(await base.content('gone.py')).toBeUndefined();
    expect(base.unavailable()).toBe(
      `the templates of generator-scdf-task ${GENERATOR_VERSION} no longer render what it wrote to README.md, gone.py`,
    );
  });

  test('a path never recorded has no base text', async () => {
    const base = updateBase(
      project({ generatorVersion: GENERATOR_VERSION, lastGenerated: {} }),
      '/',
    );
    expect(await base.content('README.md')).toBeUndefined();
    expect(base.unavailable()).toBeUndefined();
  });

  test('a whole text recorded by an earlier version is used as it is, without rendering', async () => {
    const base = updateBase(
      project({
        lastGenerated: { 'a.py': { owner: 'user', sha256: sha256('old'), content: 'old' } },
      }),
      '/',
    );
    expect(await base.content('a.py')).toBe('old');
    expect(base.unavailable()).toBeUndefined();
  });

  test('the oldest records, managed hashes only, are managed files of the base', () => {
    const base = updateBase(project({ managedFiles: { 'README.md': sha256('r') } }), '/');
    expect([...base.base]).toEqual([['README.md', { owner: 'managed', sha256: sha256('r') }]]);
  });

  test('no recorded version: the texts cannot be had, and that is said once', async () => {
    const base = updateBase(
      project({
        lastGenerated: { 'README.md': { owner: 'managed', sha256: sha256(readme.content) } },
      }),
      '/',
    );
    expect(await base.content('README.md')).toBeUndefined();
    expect(await base.content('README.md')).toBeUndefined();
    expect(base.unavailable()).toBe(
      'the templates of generator-scdf-task (no version recorded) could not be had: the project records no generator version',
    );
  });

  test('a recorded version that is no plain version is not fetched', async () => {
    const base = updateBase(
      project({
        generatorVersion: '1.0.0 --registry=x',
        lastGenerated: { 'README.md': { owner: 'managed', sha256: sha256(readme.content) } },
      }),
      '/',
    );
    expect(await base.content('README.md')).toBeUndefined();
    expect(base.unavailable()).toBe(
      'the templates of generator-scdf-task 1.0.0 --registry=x could not be had: "1.0.0 --registry=x" is not a plain version',
    );
  });
});
