/**
 * The generated pipelines, for each CI system and the answers that change them, pass actionlint
 * (with shellcheck checking every `run:` step) and check-jsonschema's built-in schemas of GitHub
 * workflows and GitLab CI; so does every documented pipeline under docs/ci/.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import type { Answers } from '../../core/inputs.js';
import { planProject } from '../../core/project-files.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { ciTools } from './tools.js';

const tools = ciTools();
const SHELLCHECK = spawnSync('sh', ['-c', 'command -v shellcheck'], {
  encoding: 'utf8',
}).stdout.trim();

function check(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} exited ${String(result.status)}:\n${result.stdout}${result.stderr}`,
    );
}

function actionlint(files: readonly string[]): void {
  // shellcheck must be found: without it actionlint checks no run: step and says nothing.
  expect(SHELLCHECK).not.toBe('');
  check(tools.actionlint, ['-shellcheck', SHELLCHECK, '-no-color', ...files]);
}

const schema = (name: 'github-workflows' | 'gitlab-ci', files: readonly string[]) => {
  check(tools.checkJsonschema, ['--builtin-schema', `vendor.${name}`, ...files]);
};

/** A project's CI files, written out as the generator writes them. */
function written(answers: Partial<Answers>): Record<string, string> {
  const dir = tempDir('scdf-ci-lint-');
  const files: Record<string, string> = {};
  for (const file of planProject(withDefaults(answers))) {
    if (!file.path.startsWith('.github/') && file.path !== '.gitlab-ci.yml') continue;
    const target = path.join(dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    files[file.path] = target;
  }
  return files;
}

const VARIANTS: readonly Partial<Answers>[] = [
  { taskName: 'orders-etl' },
  {
    taskName: 'billing-sync',
    dockerPrefix: 'ghcr.io/acme',
    database: 'db2',
    pythonVersion: '3.11',
  },
  { taskName: 'ledger', dockerPrefix: 'springcloud', database: 'postgresql' },
];

describe.each(VARIANTS)('answers %j', (answers) => {
  test('GitHub: ci.yml and template-update.yml pass actionlint and the workflow schema', () => {
    const files = written({ ...answers, ci: 'github' });
    expect(Object.keys(files).sort()).toEqual([
      '.github/workflows/ci.yml',
      '.github/workflows/template-update.yml',
    ]);
    actionlint(Object.values(files));
    schema('github-workflows', Object.values(files));
  });

  test('GitLab: .gitlab-ci.yml passes the gitlab-ci schema', () => {
    const files = written({ ...answers, ci: 'gitlab' });
    expect(Object.keys(files)).toEqual(['.gitlab-ci.yml']);
    schema('gitlab-ci', Object.values(files));
  });
});

test.each(['github', 'gitlab'] as const)('--ci %s: its shell scripts pass shellcheck', (ci) => {
  const dir = tempDir('scdf-ci-scripts-');
  const scripts = planProject(withDefaults({ ci })).filter((file) => file.path.endsWith('.sh'));
  expect(scripts.map((file) => file.path)).toEqual([
    'scripts/conflict-markers.sh',
    'scripts/scdf-rest.sh',
    'scripts/template-update.sh',
  ]);
  for (const file of scripts) writeFileSync(path.join(dir, path.basename(file.path)), file.content);
  check(SHELLCHECK, [
    '--severity=style',
    '--shell=bash',
    ...scripts.map((file) => path.join(dir, path.basename(file.path))),
  ]);
});

test('--ci none writes no pipeline', () => {
  expect(written({ ci: 'none' })).toEqual({});
});

test('the checks can fail: shellcheck inside actionlint, and each schema', () => {
  const github = written({ ci: 'github' })['.github/workflows/ci.yml'] ?? '';
  const text = readFileSync(github, 'utf8');
  writeFileSync(
    github,
    text.replace('run: scripts/conflict-markers.sh', 'run: ls $GITHUB_WORKSPACE'),
  );
  expect(() => {
    actionlint([github]);
  }).toThrow(/shellcheck reported issue in this script: SC2086/);
  writeFileSync(github, text.replace('runs-on: ubuntu-latest', 'runs-on: 3'));
  expect(() => {
    schema('github-workflows', [github]);
  }).toThrow(/check-jsonschema/);
  const gitlab = written({ ci: 'gitlab' })['.gitlab-ci.yml'] ?? '';
  writeFileSync(gitlab, readFileSync(gitlab, 'utf8').replace('build-image:', 'image:'));
  expect(() => {
    schema('gitlab-ci', [gitlab]);
  }).toThrow(/\$\.image/);
});

// Pipelines the documentation gives for a whole fleet: GitHub workflows (a top-level "jobs" and
// "on") or GitLab CI files.
const DOCS_CI = path.join(REPO_ROOT, 'docs/ci');
const documented = existsSync(DOCS_CI)
  ? readdirSync(DOCS_CI).filter((name) => /\.ya?ml$/.test(name))
  : [];
test.each(documented.length > 0 ? documented : ['(none yet)'])('docs/ci/%s passes', (name) => {
  if (name === '(none yet)') return;
  const file = path.join(DOCS_CI, name);
  const text = readFileSync(file, 'utf8');
  if (/^jobs:/m.test(text) && /^on:/m.test(text)) {
    actionlint([file]);
    schema('github-workflows', [file]);
  } else {
    schema('gitlab-ci', [file]);
  }
});

test('scripts/setup-ci-tools.sh, run again, reuses its cache: builds and installs nothing', () => {
  const again = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/setup-ci-tools.sh')], {
    encoding: 'utf8',
  });
  expect({ status: again.status, stdout: again.stdout, stderr: again.stderr }).toEqual({
    status: 0,
    stdout: '',
    stderr: '',
  });
});
