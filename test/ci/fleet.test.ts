/**
 * The documented fleet pipelines in docs/ci/. fleet-update.gitlab-ci.yml, run by gitlab-ci-local's
 * shell executor as a pipeline schedule of a "platform" project, over two task projects on bare
 * git remotes: one whose update merges cleanly, one whose update conflicts. Both were generated
 * by an older version published to a local registry (verdaccio), with the user's edit; the job
 * installs the newer one from it, updates both in one fleet run and pushes one branch per
 * project with GitLab's merge-request push options.
 *
 * The job clones https://oauth2:<token>@gitlab.example.com/<project>.git; a git config given to
 * the job alone (insteadOf) sends those URLs to the bare remotes. GitLab's handling of the push
 * options (opening the merge request) is the stand-in: each bare remote advertises push options
 * and a pre-receive hook records the ones it gets, asserted exactly.
 *
 * fleet-update.github.yml, run by act (workflow_dispatch) the same way over two repositories.
 * Its GitHub side goes through the GitHub CLI: `gh` is a stand-in on PATH that records each
 * call (and the body file it is given) and answers as gh does for a repository with no open pull
 * request; actions/setup-node is a stand-in that checks node-version and puts Node 22 on PATH.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { commitAll, git, tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { publish, stagePackage, startRegistry, type Registry } from '../support/registry.js';
import { ciTools, run } from './tools.js';

const OLD = '0.0.1';
const NEW = '0.0.2';
const NEW_FILE = 'scdf/list-apps.shell';
const TOKEN = 'glpat-fleet-token-never-printed';
const GH_TOKEN = 'ghs_fleet-token-never-printed';
const SERVER = 'gitlab.example.com';
const TITLE = `Update generated SCDF task files to generator-scdf-task ${NEW}`;
const tools = ciTools();

let registry: Registry | undefined;
let oldPackage: string;

beforeAll(async () => {
  const upstream = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' });
  registry = await startRegistry(upstream.stdout.trim() || 'https://registry.npmjs.org/');
  oldPackage = stagePackage(OLD, () => undefined);
  publish(registry, oldPackage);
  publish(
    registry,
    stagePackage(NEW, (templates) => {
      const dockerfile = path.join(templates, 'managed/Dockerfile');
      const text = readFileSync(dockerfile, 'utf8');
      writeFileSync(dockerfile, text.replace(/^[^\n]*/, `# the first line as ${NEW} writes it`));
      writeFileSync(path.join(templates, 'managed', NEW_FILE), 'app list --type task\n');
    }),
  );
}, 300_000);

afterAll(async () => {
  await registry?.stop();
});

/**
 * A task project as the old version wrote it, with the user's edit, on main of the bare remote
 * `<remotes>/acme/<name>.git`, which records the push options of every push it receives.
 */
function taskProject(
  ci: 'github' | 'gitlab',
  remotes: string,
  name: string,
  edit: 'append' | 'conflict',
): string {
  const cwd = tempDir();
  const made = spawnSync(
    process.execPath,
    [path.join(oldPackage, 'lib/bin/create-scdf-task.js'), name, '--defaults', '--ci', ci],
    { cwd, encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`${OLD} did not generate:\n${made.stdout}${made.stderr}`);
  const project = path.join(cwd, name);
  git(project, 'init', '--quiet', '--initial-branch=main');
  commitAll(project, 'generated');
  const dockerfile = path.join(project, 'Dockerfile');
  if (edit === 'append') appendFileSync(dockerfile, '# a system package the team added\n');
  else writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace(/^[^\n]*/, '# ours'));
  commitAll(project, 'our edit');
  const remote = path.join(remotes, 'acme', `${name}.git`);
  git(cwd, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  git(remote, 'config', 'receive.advertisePushOptions', 'true');
  const hook = path.join(remote, 'hooks', 'pre-receive');
  writeFileSync(
    hook,
    [
      '#!/bin/sh',
      '# Records the push options, one per line, as GitLab would read them.',
      'i=0',
      'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do',
      '  eval "printf \'%s\\n\' \\"\\$GIT_PUSH_OPTION_$i\\"" >>"$GIT_DIR/push-options"',
      '  i=$((i + 1))',
      'done',
      'cat >/dev/null',
      '',
    ].join('\n'),
  );
  chmodSync(hook, 0o755);
  git(project, 'push', '--quiet', remote, 'main');
  return remote;
}

function branchFile(remote: string, file: string): string {
  return git(remote, 'show', `template-update:${file}`);
}

test('GitLab: one push with merge-request options per project, and the summary table', async () => {
  const remotes = tempDir('scdf-fleet-remotes-');
  const clean = taskProject('gitlab', remotes, 'orders-etl', 'append');
  const conflicting = taskProject('gitlab', remotes, 'billing-etl', 'conflict');

  const platform = tempDir('scdf-fleet-platform-');
  copyFileSync(
    path.join(REPO_ROOT, 'docs/ci/fleet-update.gitlab-ci.yml'),
    path.join(platform, '.gitlab-ci.yml'),
  );
  writeFileSync(
    path.join(platform, 'fleet-repos.txt'),
    '# the task projects\nacme/orders-etl\nacme/billing-etl\n',
  );
  git(platform, 'init', '--quiet', '--initial-branch=main');
  commitAll(platform, 'fleet');
  git(platform, 'remote', 'add', 'origin', `https://${SERVER}/platform/fleet.git`);
  // Given to the job alone: its clones and pushes reach the bare remotes.
  const gitconfig = path.join(tempDir('scdf-fleet-git-'), 'gitconfig');
  writeFileSync(
    gitconfig,
    `[url "${remotes}/"]\n\tinsteadOf = https://oauth2:${TOKEN}@${SERVER}/\n`,
  );
  // npm install --global lands here, not in this machine's prefix.
  const prefix = tempDir('scdf-fleet-prefix-');
  mkdirSync(path.join(prefix, 'bin'), { recursive: true });

  const result = await run(
    tools.gitlabCiLocal,
    [
      '--force-shell-executor',
      '--ignore-predefined-vars',
      'CI_PIPELINE_SOURCE',
      '--variable',
      'CI_PIPELINE_SOURCE=schedule',
      '--variable',
      `GENERATOR_VERSION=${NEW}`,
      '--variable',
      `TEMPLATE_UPDATE_TOKEN=${TOKEN}`,
      '--variable',
      `GIT_CONFIG_GLOBAL=${gitconfig}`,
      'fleet-template-update',
    ],
    {
      cwd: platform,
      env: {
        ...process.env,
        PATH: [tools.node22Path, path.join(prefix, 'bin'), process.env.PATH ?? ''].join(
          path.delimiter,
        ),
        npm_config_prefix: prefix,
        npm_config_registry: registry?.url,
        npm_config_cache: path.join(tempDir('scdf-fleet-npm-'), 'cache'),
        npm_config_update_notifier: 'false',
      },
      timeoutMs: 600_000,
    },
  );
  const log = result.output;
  if (result.status !== 0)
    throw new Error(`gitlab-ci-local failed (${String(result.status)}):\n${log}`);
  expect(log).toMatch(/PASS +fleet-template-update/);
  expect(log).toContain(
    'create-scdf-task exited 3 (0 done, 3 conflicts marked, 2 a project failed)',
  );
  // The summary table, printed (and kept as an artifact).
  const summary = readFileSync(path.join(platform, 'fleet-summary.md'), 'utf8');
  expect(summary).toBe(
    [
      `## Template update to generator-scdf-task ${NEW}`,
      '',
      '| Project | Result | Branch |',
      '| --- | --- | --- |',
      `| acme/billing-etl | conflicts: Dockerfile | https://${SERVER}/acme/billing-etl/-/tree/template-update |`,
      `| acme/orders-etl | merged cleanly | https://${SERVER}/acme/orders-etl/-/tree/template-update |`,
      '',
    ].join('\n'),
  );
  for (const line of summary.trim().split('\n'))
    expect(log).toContain(`fleet-template-update > ${line}`.trimEnd());

  // One push per project, with the merge request's options.
  const options = (remote: string) =>
    readFileSync(path.join(remote, 'push-options'), 'utf8').trimEnd().split('\n');
  // The description names the platform project, the job and the project's line of the fleet run.
  const description = expect.stringMatching(
    new RegExp(
      `^merge_request\\.description=Fleet template update from platform/fleet, job https://${SERVER}/platform/fleet/-/jobs/\\d+: \\S`,
    ),
  ) as unknown;
  expect(options(clean)).toEqual([
    'merge_request.create',
    'merge_request.target=main',
    description,
    `merge_request.title=${TITLE}`,
    'merge_request.unlabel=template-conflict',
  ]);
  expect(options(conflicting)).toEqual([
    'merge_request.create',
    'merge_request.target=main',
    description,
    `merge_request.title=Draft: ${TITLE}`,
    'merge_request.label=template-conflict',
  ]);

  // The branches: the merge and the new file; the markers where the edit conflicted.
  expect(branchFile(clean, 'Dockerfile')).toMatch(
    new RegExp(`^# the first line as ${NEW} writes it\\n[^]*# a system package the team added\\n$`),
  );
  expect(branchFile(conflicting, 'Dockerfile')).toMatch(/^<<<<<<< yours\n# ours\n/);
  for (const remote of [clean, conflicting]) {
    expect(branchFile(remote, NEW_FILE)).toBe('app list --type task\n');
    expect(git(remote, 'log', '--format=%s', 'main..template-update')).toBe(`${TITLE}\n`);
  }
  expect(log).not.toContain(TOKEN);
}, 900_000);

/** A `gh` that records its calls and answers as gh does for a repository without pull requests. */
function ghStandIn(dir: string, calls: string): void {
  const gh = path.join(dir, 'gh');
  writeFileSync(
    gh,
    [
      '#!/usr/bin/env node',
      "const fs = require('node:fs');",
      'const args = process.argv.slice(2);',
      "const at = args.indexOf('--body-file');",
      "const body = at < 0 ? undefined : fs.readFileSync(args[at + 1], 'utf8');",
      'const token = process.env.GH_TOKEN;',
      `fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ args, body, token }) + '\\n');`,
      "const repo = args[args.indexOf('-R') + 1];",
      "const command = args.slice(0, 2).join(' ');",
      // pr list: none open; pr create / pr view: the pull request's URL, as gh prints it.
      "if (command === 'pr create' || command === 'pr view')",
      '  process.stdout.write(`https://github.com/${repo}/pull/1\\n`);',
      '',
    ].join('\n'),
  );
  chmodSync(gh, 0o755);
}

test('GitHub: one pull request per repository through gh, and the summary table', async () => {
  const remotes = tempDir('scdf-fleet-remotes-');
  const clean = taskProject('github', remotes, 'orders-etl', 'append');
  const conflicting = taskProject('github', remotes, 'billing-etl', 'conflict');

  const platform = tempDir('scdf-fleet-platform-');
  mkdirSync(path.join(platform, '.github/workflows'), { recursive: true });
  copyFileSync(
    path.join(REPO_ROOT, 'docs/ci/fleet-update.github.yml'),
    path.join(platform, '.github/workflows/fleet-update.yml'),
  );
  writeFileSync(path.join(platform, 'fleet-repos.txt'), 'acme/orders-etl\nacme/billing-etl\n');
  git(platform, 'init', '--quiet', '--initial-branch=main');
  commitAll(platform, 'fleet');
  git(platform, 'remote', 'add', 'origin', 'https://github.com/acme/platform.git');
  const gitconfig = path.join(tempDir('scdf-fleet-git-'), 'gitconfig');
  writeFileSync(gitconfig, `[url "${remotes}/"]\n\tinsteadOf = https://github.com/\n`);
  const prefix = tempDir('scdf-fleet-prefix-');
  mkdirSync(path.join(prefix, 'bin'), { recursive: true });
  const bin = tempDir('scdf-fleet-bin-');
  const calls = path.join(bin, 'calls.jsonl');
  ghStandIn(bin, calls);
  const setupNode = path.join(tempDir('scdf-fleet-actions-'), 'setup-node');
  mkdirSync(setupNode);
  writeFileSync(
    path.join(setupNode, 'action.yml'),
    [
      'name: setup-node (test stand-in)',
      'description: checks node-version, then puts the installed Node 22 on PATH',
      'inputs:',
      '  node-version:',
      '    description: node-version',
      '    required: false',
      'runs:',
      '  using: composite',
      '  steps:',
      '    - shell: bash',
      '      env:',
      '        INPUT_NODE_VERSION: ${{ inputs.node-version }}',
      '      run: |',
      '        [[ $INPUT_NODE_VERSION == 22 ]] || { echo "setup-node stand-in: node-version $INPUT_NODE_VERSION"; exit 1; }',
      `        echo '${tools.node22Path}' >>"$GITHUB_PATH"`,
      '',
    ].join('\n'),
  );

  const result = await run(
    tools.act,
    [
      'workflow_dispatch',
      '--workflows',
      '.github/workflows/fleet-update.yml',
      '-P',
      'ubuntu-latest=-self-hosted',
      '--action-offline-mode',
      '--local-repository',
      `actions/setup-node@v4=${setupNode}`,
      '--var',
      `GENERATOR_VERSION=${NEW}`,
      '--secret',
      `TEMPLATE_UPDATE_TOKEN=${GH_TOKEN}`,
      // As GitHub gives every run (and act, without it, asks `gh auth token` for one): the
      // fleet must not use it.
      '--secret',
      'GITHUB_TOKEN=ghs_default-job-token',
      '--env',
      `GIT_CONFIG_GLOBAL=${gitconfig}`,
    ],
    {
      cwd: platform,
      env: {
        ...process.env,
        PATH: [bin, path.join(prefix, 'bin'), process.env.PATH ?? ''].join(path.delimiter),
        npm_config_prefix: prefix,
        npm_config_registry: registry?.url,
        npm_config_cache: path.join(tempDir('scdf-fleet-npm-'), 'cache'),
        npm_config_update_notifier: 'false',
      },
      timeoutMs: 600_000,
    },
  );
  const log = result.output;
  if (result.status !== 0) throw new Error(`act failed (${String(result.status)}):\n${log}`);
  expect(log).toContain(
    'create-scdf-task exited 3 (0 done, 3 conflicts marked, 2 a repository failed)',
  );
  expect(log).toMatch(/🏁 {2}Job succeeded/);
  // The summary table, printed in the log from the job summary.
  for (const line of [
    `## Template update to generator-scdf-task ${NEW}`,
    '| Repository | Result | Pull request |',
    '| acme/billing-etl | conflicts: 1 file(s) | https://github.com/acme/billing-etl/pull/1 |',
    '| acme/orders-etl | merged cleanly | https://github.com/acme/orders-etl/pull/1 |',
  ])
    expect(log).toContain(`| ${line}`);

  // Exactly these gh calls, each with the token; one pull request per repository.
  const recordedCalls = readFileSync(calls, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { args: string[]; body?: string; token?: string });
  expect(recordedCalls.filter((call) => call.token !== GH_TOKEN)).toEqual([]);
  const title = `Update generated SCDF task files to generator-scdf-task ${NEW}`;
  const list = (repo: string) => [
    'pr', 'list', '-R', repo, '--head', 'template-update', '--state', 'open',
    '--json', 'number', '-q', '.[0].number',
  ]; // prettier-ignore
  const view = (repo: string) => [
    'pr',
    'view',
    'template-update',
    '-R',
    repo,
    '--json',
    'url',
    '-q',
    '.url',
  ];
  expect(recordedCalls.map((call) => call.args.map((arg, i) => (call.args[i - 1] === '--body-file' ? '<body>' : arg)))).toEqual([
    ['auth', 'setup-git'],
    list('acme/billing-etl'),
    ['label', 'create', 'template-conflict', '-R', 'acme/billing-etl', '--color', 'D93F0B',
      '--description', 'Template update with conflict markers', '--force'],
    ['pr', 'create', '-R', 'acme/billing-etl', '--draft', '--base', 'main', '--head',
      'template-update', '--title', title, '--body-file', '<body>', '--label', 'template-conflict'],
    view('acme/billing-etl'),
    list('acme/orders-etl'),
    ['pr', 'create', '-R', 'acme/orders-etl', '--base', 'main', '--head', 'template-update',
      '--title', title, '--body-file', '<body>'],
    view('acme/orders-etl'),
  ]); // prettier-ignore
  const bodies = recordedCalls.flatMap((call) => (call.body === undefined ? [] : [call.body]));
  expect(bodies[0]).toContain(
    "Conflict markers to resolve (yours, then the template's), then commit:\n- `Dockerfile`\n",
  );
  expect(bodies[1]).not.toContain('Conflict markers');
  expect(bodies[1]).toContain('Made by the fleet template update of acme/platform');

  for (const remote of [clean, conflicting]) {
    expect(branchFile(remote, NEW_FILE)).toBe('app list --type task\n');
    expect(git(remote, 'log', '--format=%s', 'main..template-update')).toBe(`${title}\n`);
  }
  expect(branchFile(conflicting, 'Dockerfile')).toMatch(/^<<<<<<< yours\n# ours\n/);
  expect(log).not.toContain(GH_TOKEN);
}, 900_000);
