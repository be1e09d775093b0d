import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { INPUTS } from '../../core/inputs.js';
import { templateSources } from '../../core/project-files.js';
import { DATABASES } from '../../core/validators.js';
import { REPO_ROOT } from '../support/paths.js';
import { readTree, tempDir } from '../support/cli.js';

interface PackedFile {
  path: string;
  mode: number;
}

// The templates, and the lock files managed/requirements-scdf.txt includes (one per database),
// which are not templates of their own.
const TEMPLATE_FILES = [
  ...templateSources().map(({ source }) => path.relative(REPO_ROOT, source)),
  ...DATABASES.map((database) => `templates/locks/${database}.txt`),
];

let packed: PackedFile[] = [];
let prefix = '';
let tarball = '';

// One pack and one install for the whole file: installing from the registry is the slow part.
beforeAll(() => {
  const out = tempDir('scdf-pack-');
  // --ignore-scripts: prepack would rebuild lib/ under the test files running beside this one;
  // the global setup has built it already.
  const json = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', out],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [info] = JSON.parse(json) as { filename: string; files: PackedFile[] }[];
  if (!info) throw new Error('npm pack printed no result');
  packed = info.files;
  tarball = path.join(out, info.filename);
  // `npm init scdf-task` runs the package named create-scdf-task: the forwarding package.
  execFileSync('npm', ['pack', '--pack-destination', out], {
    cwd: path.join(REPO_ROOT, 'packages/create-scdf-task'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  prefix = tempDir('scdf-prefix-');
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefix',
      prefix,
      path.join(out, info.filename),
      path.join(out, 'create-scdf-task-0.1.0.tgz'),
    ],
    { stdio: 'inherit' },
  );
  // `yo` drops root to an unprivileged user, which must be able to write here.
  chmodSync(prefix, 0o777);
}, 300_000);

describe('the npm tarball', () => {
  test('holds compiled JS, templates and package files only', () => {
    const paths = packed.map((file) => file.path).sort();
    const extra = paths.filter(
      (p) =>
        !/^lib\/(core|generators\/app|bin)\/[\w-]+\.js$/.test(p) &&
        p !== 'lib/core/compiled-templates.cjs' &&
        !p.startsWith('templates/') &&
        !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(p),
    );
    expect(extra).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md']));
    expect(paths).toContain('lib/generators/app/index.js');
    expect(paths).toContain('lib/bin/create-scdf-task.js');
    // The templates compiled at build time: without them every run would load EJS.
    expect(paths).toContain('lib/core/compiled-templates.cjs');
    expect(paths.filter((p) => p.startsWith('templates/'))).toEqual([...TEMPLATE_FILES].sort());
    expect(paths.some((p) => /\.ts$|__pycache__|\.pyc$|^test\//.test(p))).toBe(false);
  });
});

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1', ...env },
  });
}

function workDir(name: string): string {
  const dir = path.join(prefix, name);
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return dir;
}

const ARGS = [
  'my-task',
  '--database',
  'postgresql',
  '--docker-prefix',
  'ghcr.io/acme',
  '--defaults',
];

describe('installed from the tarball', () => {
  test.each([
    ['npx create-scdf-task', 'npx', ['--no-install', 'create-scdf-task', ...ARGS]],
    ['npm init scdf-task', 'npm', ['init', '--yes', 'scdf-task', '--', ...ARGS]],
  ])('%s generates my-task/ in an empty folder', (name, command, args) => {
    const cwd = workDir(name.replace(/\W+/g, '-'));
    const result = run(command, args, cwd);
    expect(result.stderr).not.toContain('Error');
    expect(result.status).toBe(0);
    const rc = readFileSync(path.join(cwd, 'my-task', '.yo-rc.json'), 'utf8');
    expect(rc).toContain('"dockerPrefix": "ghcr.io/acme"');
    expect(existsSync(path.join(cwd, 'my-task', 'scripts', 'scdf-rest.sh'))).toBe(true);
  });

  test('create-scdf-task forwards to the same version of the generator', () => {
    const forwarder = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'packages/create-scdf-task/package.json'), 'utf8'),
    ) as { version: string; dependencies: Record<string, string> };
    const root = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(forwarder.version).toBe(root.version);
    expect(forwarder.dependencies['generator-scdf-task']).toBe(root.version);
  });

  test('yo scdf-task finds the installed generator and writes the same project', () => {
    const viaBin = workDir('via-bin');
    const viaYo = workDir('via-yo');
    const home = workDir('home');
    const bin = path.join(prefix, 'node_modules/.bin/create-scdf-task');
    expect(run(bin, ARGS, viaBin).status).toBe(0);
    const yo = path.join(REPO_ROOT, 'node_modules/.bin/yo');
    const result = run(yo, ['scdf-task', ...ARGS], viaYo, { HOME: home });
    expect(result.status).toBe(0);
    const expected = readTree(path.join(viaBin, 'my-task'));
    expect(readTree(path.join(viaYo, 'my-task'))).toEqual(expected);
  });

  test('yo scdf-task --help lists the same options', () => {
    const cwd = workDir('yo-help');
    const yo = path.join(REPO_ROOT, 'node_modules/.bin/yo');
    const result = run(yo, ['scdf-task', '--help'], cwd, { HOME: workDir('home-help') });
    expect(result.status).toBe(0);
    for (const input of INPUTS) {
      expect(result.stdout).toContain(`--${input.option}`);
      expect(result.stdout).toContain(input.description);
    }
    for (const flag of ['--defaults', '--check', '--force']) expect(result.stdout).toContain(flag);
  });
});

describe('installed globally from the tarball, as the README says to before publication', () => {
  test('create-scdf-task is on the global bin and yo scdf-task finds the generator', () => {
    const globalPrefix = tempDir('scdf-global-');
    // yo, run as root, continues as uid 1000: it must be able to read the install.
    chmodSync(globalPrefix, 0o755);
    const env = { NPM_CONFIG_PREFIX: globalPrefix };
    const install = run(
      'npm',
      ['install', '-g', '--no-audit', '--no-fund', tarball],
      REPO_ROOT,
      env,
    );
    expect({ status: install.status, stderr: install.stderr }).toMatchObject({ status: 0 });
    const viaBin = workDir('global-bin');
    const bin = run(path.join(globalPrefix, 'bin', 'create-scdf-task'), ARGS, viaBin, env);
    expect(bin.stderr).toBe('');
    expect(bin.status).toBe(0);
    const viaYo = workDir('global-yo');
    const yo = path.join(REPO_ROOT, 'node_modules/.bin/yo');
    const result = run(yo, ['scdf-task', ...ARGS], viaYo, { ...env, HOME: workDir('home-global') });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readTree(path.join(viaYo, 'my-task'))).toEqual(readTree(path.join(viaBin, 'my-task')));
  });
});
