import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DATABASES } from '../../core/validators.js';
import { readTree, tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

const COMPILED = 'lib/core/compiled-templates.cjs';

/**
 * A copy of the built package (lib/, templates/, package.json) that a test may change; without
 * node_modules a run that needed EJS could not load it.
 */
function packageCopy(withModules = true): string {
  const root = path.join(tempDir('scdf-package-'), 'package');
  for (const part of ['lib', 'templates', 'package.json']) {
    cpSync(path.join(REPO_ROOT, part), path.join(root, part), { recursive: true });
  }
  // Only EJS (the fallback) and semver are loaded from here.
  if (withModules)
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

function generate(packageRoot: string, args: readonly string[]): Record<string, string> {
  const cwd = tempDir();
  const result = spawnSync(
    process.execPath,
    [path.join(packageRoot, 'lib/bin/create-scdf-task.js'), 'my-task', '--defaults', ...args],
    { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  if (result.status !== 0) {
    throw new Error(`generation failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return readTree(path.join(cwd, 'my-task'));
}

describe('templates compiled at build time', () => {
  test.each(DATABASES)(
    '%s: the compiled templates write exactly what EJS renders from the files',
    (database) => {
      const withoutCompiled = packageCopy();
      rmSync(path.join(withoutCompiled, COMPILED));
      const compiled = generate(packageCopy(false), ['--database', database]);
      const fromFiles = generate(withoutCompiled, ['--database', database]);
      expect(Object.keys(compiled)).toEqual(Object.keys(fromFiles));
      expect(compiled).toEqual(fromFiles);
    },
  );

  test('a template edited after the build is rendered from its file, not from the build', () => {
    const edited = packageCopy();
    const dockerfile = path.join(edited, 'templates/managed/Dockerfile');
    writeFileSync(dockerfile, `${readFileSync(dockerfile, 'utf8')}# edited <%- taskName %>\n`);
    const files = generate(edited, []);
    expect(files.Dockerfile).toMatch(/\n# edited my-task\n$/);
    // The untouched templates still come out as the build compiled them.
    expect(files['python_task.py']).toBe(generate(packageCopy(false), [])['python_task.py']);
  });
});
