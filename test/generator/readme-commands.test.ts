import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { planProject } from '../../core/project-files.js';
import { commitAll, git, tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { publish, stagePackage, startRegistry, type Registry } from '../support/registry.js';

function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, body = '']) =>
    body.split('\n').filter((line) => line.trim() !== ''),
  );
}

test('the README leads with what works before the packages are published', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const [first = []] = shellBlocks(readme);
  expect(first).toEqual([
    'npm ci && npm run build',
    expect.stringMatching(/^npm link +#/),
    'create-scdf-task my-task --database postgresql --docker-prefix ghcr.io/acme',
    expect.stringMatching(/^yo scdf-task my-task +#/),
  ]);
  const beforeFirstBlock = readme.slice(0, readme.indexOf('```sh'));
  expect(beforeFirstBlock).toContain('The packages are not on the npm registry yet');
});

test('the generated README updates with the installed command; npx @latest only once published', () => {
  const readme =
    planProject(withDefaults({})).find((file) => file.path === 'README.md')?.content ?? '';
  const commands = shellBlocks(readme).flat();
  expect(commands).toContain(
    "create-scdf-task --check               # write nothing: diffs and each file's state",
  );
  // npx appears only in comments, as what works once the package is published.
  expect(commands.filter((line) => /\bnpx\b/.test(line) && !line.startsWith('#'))).toEqual([]);
  expect(readme).toContain('once the package is published on npm');
});

describe("the README's CI recipe, run as written, against bare remotes", () => {
  const OLD = '0.0.1';
  const NEW = '0.0.2';
  const ADDED = 'scdf/list-apps.shell';
  const NEW_FIRST_LINE = '# the first line as the newer version writes it';
  let registry: Registry | undefined;
  let newPackage = '';

  beforeAll(async () => {
    // npx installs the package's dependencies too: the registry fetches those from npm's.
    const upstream = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' });
    registry = await startRegistry(upstream.stdout.trim());
    publish(
      registry,
      stagePackage(OLD, () => undefined),
    );
    newPackage = stagePackage(NEW, (templates) => {
      writeFileSync(path.join(templates, 'managed', ADDED), 'app list --type task\n');
      const dockerfile = path.join(templates, 'managed', 'Dockerfile');
      const text = readFileSync(dockerfile, 'utf8');
      writeFileSync(dockerfile, text.replace(/^[^\n]*/, NEW_FIRST_LINE));
    });
    publish(registry, newPackage);
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
  });

  /** A project made by the older version, pushed to a bare remote; `edit` runs before the push. */
  function remote(root: string, name: string, edit: (project: string) => void): string {
    const cwd = path.join(root, `${name}-src`);
    mkdirSync(cwd);
    const made = spawnSync(
      'npx',
      ['-y', '-p', `generator-scdf-task@${OLD}`, 'create-scdf-task', 'orders-etl', '--defaults'],
      {
        cwd,
        encoding: 'utf8',
        env: npmEnv(root),
      },
    );
    if (made.status !== 0)
      throw new Error(`${OLD} did not generate:\n${made.stdout}${made.stderr}`);
    const project = path.join(cwd, 'orders-etl');
    edit(project);
    const bare = path.join(root, `${name}.git`);
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    git(project, 'init', '--quiet', '--initial-branch=main');
    commitAll(project, 'generated');
    git(project, 'push', '--quiet', bare, 'main');
    return `file://${bare}`;
  }

  const npmEnv = (root: string): NodeJS.ProcessEnv => ({
    ...process.env,
    npm_config_registry: registry?.url ?? '',
    npm_config_cache: path.join(root, 'npm-cache'),
    npm_config_update_notifier: 'false',
    XDG_CACHE_HOME: path.join(root, 'xdg-cache'),
    GIT_AUTHOR_NAME: 'ci',
    GIT_AUTHOR_EMAIL: 'ci@example.invalid',
    GIT_COMMITTER_NAME: 'ci',
    GIT_COMMITTER_EMAIL: 'ci@example.invalid',
  });

  test('a new file reaches the pushed branch, whose fresh clone passes --check; a conflict is pushed marked and fails it', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using it in CI'));
    const recipe = /```sh\n(#!\/usr\/bin\/env bash\n[\s\S]*?)^```$/m.exec(section)?.[1];
    expect(recipe).toContain('git add -A');
    const root = tempDir('scdf-recipe-');
    const clean = remote(root, 'clean', () => undefined);
    const edited = remote(root, 'edited', (project) => {
      const dockerfile = path.join(project, 'Dockerfile');
      const text = readFileSync(dockerfile, 'utf8');
      writeFileSync(dockerfile, text.replace(/^[^\n]*/, '# the first line as the team wrote it'));
    });
    const job = path.join(root, 'job');
    mkdirSync(job);
    writeFileSync(path.join(job, 'recipe.sh'), recipe ?? '');
    writeFileSync(path.join(job, 'task-repos.txt'), `${clean}\n${edited}\n`);

    const ran = spawnSync('bash', ['recipe.sh'], { cwd: job, encoding: 'utf8', env: npmEnv(root) });
    const output = `exit ${String(ran.status)}\n${ran.stdout}\n${ran.stderr}`;
    expect({ status: ran.status, output }).toEqual({ status: 0, output: expect.any(String) });
    expect(ran.stdout).toContain(`${clean}: template-update pushed (exit 1)\n`);
    expect(ran.stdout).toContain(`${edited}: template-update pushed (exit 3)\n`);

    const newBin = path.join(newPackage, 'lib/bin/create-scdf-task.js');
    for (const [url, expected] of [
      [clean, 0],
      [edited, 3],
    ] as const) {
      const fresh = path.join(root, `fresh-${String(expected)}`);
      git(root, 'clone', '--quiet', '--branch', 'template-update', url, fresh);
      expect(readFileSync(path.join(fresh, ADDED), 'utf8')).toBe('app list --type task\n');
      expect(git(fresh, 'status', '--porcelain')).toBe('');
      const check = spawnSync(process.execPath, [newBin, '--check'], {
        cwd: fresh,
        encoding: 'utf8',
        env: npmEnv(root),
      });
      expect({ url, status: check.status, stdout: check.stdout }).toEqual({
        url,
        status: expected,
        stdout:
          expected === 0
            ? expect.stringContaining(`up to date with generator-scdf-task ${NEW}`)
            : expect.stringMatching(/conflict markers unresolved\s+Dockerfile/),
      });
    }
  }, 600_000);
});
