import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

const CHECK = path.join(REPO_ROOT, 'scripts/check-file-sizes.js');

function check(cwd: string) {
  return spawnSync(process.execPath, [CHECK], { cwd, encoding: 'utf8' });
}

test('this repository commits no file over 1 MB outside the lock files', () => {
  const result = check(REPO_ROOT);
  expect(`${result.stdout}${result.stderr}`).toBe('');
  expect(result.status).toBe(0);
});

test('a file over 1 MB added to git fails the check, naming it; lock files and small files pass', () => {
  const repo = tempDir('scdf-sizes-');
  git(repo, 'init', '--quiet');
  mkdirSync(path.join(repo, 'templates/locks'), { recursive: true });
  writeFileSync(path.join(repo, 'package-lock.json'), 'x'.repeat(2_000_000));
  writeFileSync(path.join(repo, 'templates/locks/mariadb.txt'), 'x'.repeat(1_500_000));
  writeFileSync(path.join(repo, 'exactly-1mb.bin'), 'x'.repeat(1_000_000));
  writeFileSync(path.join(repo, 'untracked.whl'), 'x'.repeat(3_000_000));
  git(repo, 'add', 'package-lock.json', 'templates', 'exactly-1mb.bin');
  const clean = check(repo);
  expect(clean.stderr).toBe('');
  expect(clean.status).toBe(0);

  writeFileSync(path.join(repo, 'ruff.whl'), 'x'.repeat(10_645_279));
  git(repo, 'add', 'ruff.whl');
  const refused = check(repo);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toBe(
    'check-file-sizes: over 1 MB and not a lock file: ruff.whl (10.6 MB); ' +
      'remove it from git (git rm --cached) and keep it out with .gitignore\n',
  );
});
