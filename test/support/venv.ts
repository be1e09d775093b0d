import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Creates a fresh venv for a generated project and installs its requirements from PyPI, as the
 * project's users do. Returns the venv's bin folder.
 */
export function createProjectVenv(
  projectDir: string,
  venvDir = path.join(projectDir, '.venv'),
): string {
  execFileSync('python3', ['-m', 'venv', venvDir], { stdio: 'inherit' });
  const bin = path.join(venvDir, 'bin');
  execFileSync(
    path.join(bin, 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', '-r', 'requirements-dev.txt'],
    { cwd: projectDir, stdio: 'inherit' },
  );
  return bin;
}
