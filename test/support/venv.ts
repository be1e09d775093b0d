import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/**
 * What `pip install` of the generated project's lock runs with, as the Dockerfile installs it:
 * every file checked against its hash, wheels only, from PyPI alone (no local wheel folder).
 */
export const LOCK_INSTALL_OPTIONS = ['--require-hashes', '--only-binary=:all:'] as const;
export const PYPI_ONLY_ENV = { PIP_FIND_LINKS: '', PIP_NO_INDEX: '' } as const;

/**
 * Transitional: while the generated utilities still import SQLAlchemy at module level, it has to
 * be installed beside the lock for them to run, from this file. Once no utility imports it,
 * nothing is installed from here.
 */
export const SQLALCHEMY_BRIDGE = path.join(REPO_ROOT, 'test/support/sqlalchemy-bridge.txt');

export function needsSqlalchemyBridge(projectDir: string): boolean {
  const util = path.join(projectDir, 'util');
  return readdirSync(util)
    .filter((name) => name.endsWith('.py'))
    .some((name) =>
      /^(from|import) sqlalchemy\b/m.test(readFileSync(path.join(util, name), 'utf8')),
    );
}

/**
 * Creates a fresh venv for a generated project and installs its requirements from PyPI, as the
 * project's README tells its users: the lock requirements-scdf.txt with --require-hashes in a run
 * of its own, then requirements-dev.txt. Returns the venv's bin folder.
 */
export function createProjectVenv(
  projectDir: string,
  venvDir = path.join(projectDir, '.venv'),
): string {
  execFileSync('python3', ['-m', 'venv', venvDir], { stdio: 'inherit' });
  const bin = path.join(venvDir, 'bin');
  const pip = (...args: string[]) => {
    execFileSync(
      path.join(bin, 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', ...args],
      {
        cwd: projectDir,
        stdio: 'inherit',
        env: { ...process.env, ...PYPI_ONLY_ENV },
      },
    );
  };
  pip(...LOCK_INSTALL_OPTIONS, '-r', 'requirements-scdf.txt');
  if (needsSqlalchemyBridge(projectDir)) pip('-r', SQLALCHEMY_BRIDGE);
  pip('-r', 'requirements-dev.txt');
  return bin;
}
