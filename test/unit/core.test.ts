import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkProjectPath } from '../../core/confine.js';
import { EXIT, worstExitCode } from '../../core/errors.js';
import { REPO_ROOT } from '../support/paths.js';

/** Static imports of a compiled module and, recursively, of the project's modules it imports. */
function staticImports(entry: string, seen = new Set<string>()): Set<string> {
  const bare = new Set<string>();
  if (seen.has(entry)) return bare;
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  for (const [, specifier = ''] of source.matchAll(
    /^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm,
  )) {
    if (specifier.startsWith('.')) {
      for (const found of staticImports(path.resolve(path.dirname(entry), specifier), seen))
        bare.add(found);
    } else {
      bare.add(specifier);
    }
  }
  for (const [, specifier = ''] of source.matchAll(/^\s*import\s+'([^']+)'/gm)) bare.add(specifier);
  return bare;
}

describe('the create-scdf-task bin', () => {
  test('loads no Yeoman package, no EJS, and the prompt, diff, merge and version libraries only on demand', () => {
    const bin = path.join(REPO_ROOT, 'lib/bin/create-scdf-task.js');
    const packages = [...staticImports(bin)].filter((s) => !s.startsWith('node:')).sort();
    // The templates are compiled at build time: EJS only for a template edited since.
    expect(packages).toEqual([]);
    expect(readFileSync(path.join(REPO_ROOT, 'lib/core/template-compiler.js'), 'utf8')).toContain(
      "require('ejs')",
    );
    const lazily =
      readFileSync(bin, 'utf8') + readFileSync(path.join(REPO_ROOT, 'lib/core/report.js'), 'utf8');
    expect(lazily).toContain("await import('@inquirer/prompts')");
    expect(lazily).toContain("await import('diff')");
    expect(readFileSync(path.join(REPO_ROOT, 'lib/core/versions.js'), 'utf8')).toContain(
      "require('semver/functions/gt')",
    );
    expect(readFileSync(path.join(REPO_ROOT, 'lib/core/merge.js'), 'utf8')).toContain(
      "await import('node-diff3')",
    );
  });
});

describe('exit codes', () => {
  test('a fleet run ends with the most serious outcome', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([EXIT.ok, EXIT.drift, EXIT.ok])).toBe(1);
    expect(worstExitCode([EXIT.drift, EXIT.conflict])).toBe(3);
    expect(worstExitCode([EXIT.conflict, EXIT.error, EXIT.drift])).toBe(2);
    expect(worstExitCode([EXIT.error, EXIT.interrupted])).toBe(130);
  });
});

describe('project paths', () => {
  test.each([
    ['../victim.txt', 'is not a plain path inside the project (empty, "." or ".." segment)'],
    [
      'util/../../victim.txt',
      'is not a plain path inside the project (empty, "." or ".." segment)',
    ],
    ['./Dockerfile', 'is not a plain path inside the project (empty, "." or ".." segment)'],
    ['a//b', 'is not a plain path inside the project (empty, "." or ".." segment)'],
    ['/etc/passwd', 'is absolute'],
    ['util\\x.py', 'holds a backslash'],
    ['', 'is empty or holds a NUL byte'],
    ['a\0b', 'is empty or holds a NUL byte'],
  ])('%j is refused: %s', (relPath, why) => {
    expect(() => {
      checkProjectPath(relPath, '.yo-rc.json');
    }).toThrow(`.yo-rc.json: path ${JSON.stringify(relPath)} ${why}; refusing to use it`);
  });

  test.each(['Dockerfile', '.gitignore', 'tests/scdf/test_driver.py', 'a..b/c'])(
    '%j is accepted',
    (relPath) => {
      expect(() => {
        checkProjectPath(relPath, 'x');
      }).not.toThrow();
    },
  );
});
