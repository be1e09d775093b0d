import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * What `pip install` of the generated project's lock runs with, as the Dockerfile installs it:
 * every file checked against its hash, wheels only, from PyPI alone (no local wheel folder).
 */
export const LOCK_INSTALL_OPTIONS = ['--require-hashes', '--only-binary=:all:'] as const;
export const PYPI_ONLY_ENV = { PIP_FIND_LINKS: '', PIP_NO_INDEX: '' } as const;

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
  pip('-r', 'requirements-dev.txt');
  return bin;
}
