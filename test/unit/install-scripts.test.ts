import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths.js';

// npm 11 runs no dependency's install script unless allowScripts approves it, and `npm ci` ends
// with a warning for every one that allowScripts does not mention.
test('allowScripts settles every install script of the dependencies, so npm ci prints no warning', () => {
  const result = spawnSync('npm', ['install-scripts', 'ls'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(`${result.stdout}${result.stderr}`.trim()).toBe(
    'No packages with unreviewed install scripts.',
  );
  expect(result.status).toBe(0);
});

test('no install script is allowed: each denied one is an optional check the tools work without', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  expect(pkg.allowScripts).toEqual({ '@parcel/watcher': false, '@swc/core': false, yo: false });
});
