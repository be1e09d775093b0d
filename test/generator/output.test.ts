import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FRONT_ENDS, generateProject, runFrontEnd, snapshotTree, tempDir } from '../support/cli.js';

const ESC = '\u001b';

describe.each(FRONT_ENDS)('%s front end: what it prints', (frontEnd) => {
  test('a fresh project: results on stdout, nothing on stderr, no colour codes', () => {
    const cwd = tempDir();
    // No NO_COLOR here: output that is not a terminal must be plain by itself.
    const result = runFrontEnd(frontEnd, ['my-task', '--defaults'], cwd, {
      env: { NO_COLOR: undefined, FORCE_COLOR: undefined },
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toContain(ESC);
    expect(result.stdout).toMatch(
      /^Generated .*my-task \(generator-scdf-task [^)]+\)\ncreated: \d+ files\n/,
    );
    // Yeoman's conflicter and file log never run: the core writes the files itself.
    expect(result.stdout).not.toMatch(/^\s*(force|create|conflict|identical)\s/m);
  });

  test('an error is one line naming the cause, without a stack trace', () => {
    const project = generateProject('my-task');
    const rcPath = path.join(project, '.yo-rc.json');
    writeFileSync(
      rcPath,
      readFileSync(rcPath, 'utf8').replace(
        /"generatorVersion": "[^"]*"/,
        '"generatorVersion": "banana"',
      ),
    );
    const before = snapshotTree(project);
    const result = runFrontEnd(frontEnd, [], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^[\w-]+: \.yo-rc\.json: "generatorVersion" "banana" is not a semantic version \(such as 0\.1\.0\)\n$/,
    );
    expect(result.stderr).not.toContain('    at ');
    expect(snapshotTree(project)).toEqual(before);
  });

  test('an unexpected error hides its stack unless --debug is given', () => {
    const cwd = tempDir();
    const env = { SCDF_TASK_TEMPLATES: path.join(cwd, 'no-such-templates') };
    const plain = runFrontEnd(frontEnd, ['my-task', '--defaults'], cwd, { env });
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain('unexpected error: ENOENT');
    expect(plain.stderr).toContain('run again with --debug for the stack trace');
    expect(plain.stderr).not.toContain('    at ');
    const debug = runFrontEnd(frontEnd, ['my-task', '--defaults', '--debug'], cwd, { env });
    expect(debug.status).toBe(2);
    expect(debug.stderr).toContain('    at ');
    expect(snapshotTree(cwd)).toEqual({});
  });
});
