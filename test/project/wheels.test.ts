/**
 * The image installs its lock with `--require-hashes --only-binary=:all:`: the build fails rather
 * than compile anything or take a file other than the one locked. The locks are resolved for
 * linux/amd64 (test/project/locks.test.ts installs them); this asks PyPI (pip's resolver,
 * --dry-run, no install) whether they also hold on linux/arm64 (Apple silicon, Graviton), with
 * the Dockerfile's own install options, on the platform of the image's base (Debian trixie).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASES, PYTHON_VERSIONS } from '../../core/validators.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { pythonFor, targetOptions } from '../support/pythons.js';
import { PYPI_ONLY_ENV } from '../support/venv.js';
import { parseDockerfile, renderProject } from './fixture.js';

const dockerfile = parseDockerfile(renderProject({ database: 'postgresql' }).read('Dockerfile'));
const lockRun = dockerfile.find(
  (i) => i.keyword === 'RUN' && / -r requirements-scdf\.txt$/.test(i.args),
);
// The Dockerfile's install options, minus the requirement file (given per case below) and the
// cache switch (irrelevant to what resolves, and the HTTP cache keeps this test quick).
const dockerPipOptions = (lockRun?.args ?? '')
  .split(/\s+/)
  .slice(2)
  .filter((word, i, words) => word !== '--no-cache-dir' && word !== '-r' && words[i - 1] !== '-r');

interface Resolution {
  readonly status: number | null;
  readonly output: string;
}

/** pip's resolver for another Python and platform; nothing is installed. */
function resolve(lock: string, pythonVersion: string): Promise<Resolution> {
  const args = [
    '-m',
    'pip',
    'install',
    '--dry-run',
    '--ignore-installed',
    '--quiet',
    '--disable-pip-version-check',
    '--target',
    tempDir('scdf-wheels-target-'),
    ...targetOptions(pythonVersion, 'aarch64'),
    ...dockerPipOptions,
    '-r',
    lock,
  ];
  return new Promise((done, reject) => {
    const child = spawn(pythonFor(pythonVersion, PYTHON_VERSIONS), args, {
      env: { ...process.env, ...PYPI_ONLY_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      done({ status, output });
    });
  });
}

// arm64 is checked on the default Python only: resolving is CPU-bound and slow, and the wheel
// sets do not differ by Python version there.
const ARM_VERSION = '3.14';
// The locks are universal: the one per database holds for every supported Python.
const lockOf = (database: string) => path.join(REPO_ROOT, 'templates/locks', `${database}.txt`);
const ARM_CASES = DATABASES.filter((database) => database !== 'db2');

describe('wheels of the locks on linux/arm64', () => {
  test('the Dockerfile installs the lock wheels only, each file checked against its hash', () => {
    expect(dockerPipOptions).toEqual(['--require-hashes', '--only-binary=:all:']);
  });

  test.each(ARM_CASES)(
    `Python ${ARM_VERSION}: the %s lock resolves to wheels with the hashes it holds`,
    async (database) => {
      expect(await resolve(lockOf(database), ARM_VERSION)).toEqual({ status: 0, output: '' });
    },
    180_000,
  );

  test('Db2 (ibm_db) has Linux wheels for x86_64 only: Db2 images are linux/amd64', async () => {
    const result = await resolve(lockOf('db2'), ARM_VERSION);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/No matching distribution found for ibm[-_]db==/);
  }, 180_000);
});
