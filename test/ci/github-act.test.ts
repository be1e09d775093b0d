/**
 * The generated GitHub workflow's test job, run by act on this machine (`-P
 * ubuntu-latest=-self-hosted`, actions never fetched): it passes on a generated project, and fails
 * on one with a failing test and on one with conflict markers. actions/checkout is act's own local
 * copy of the repository; actions/setup-python and actions/upload-artifact, which cannot be
 * fetched here, are local stand-ins that check their inputs (the Python version the project was
 * generated for; the JUnit report's path) and do their job with what is installed.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/cli.js';
import { CASES, junitCounts, projectFor, pytestOptions } from './projects.js';
import { ciTools, hostPython, run } from './tools.js';

const tools = ciTools();
const python = hostPython();

let standIns: string;
let artifacts: string;

function action(dir: string, name: string, inputs: readonly string[], script: string): void {
  mkdirSync(dir, { recursive: true });
  const env = inputs.map(
    (input) => `        INPUT_${input.replace(/-/g, '_').toUpperCase()}: \${{ inputs.${input} }}`,
  );
  writeFileSync(
    path.join(dir, 'action.yml'),
    [
      `name: ${name} (test stand-in)`,
      'description: checks its inputs, then does the job with what is installed',
      'inputs:',
      ...inputs.flatMap((input) => [
        `  ${input}:`,
        `    description: ${input}`,
        '    required: false',
      ]),
      'runs:',
      '  using: composite',
      '  steps:',
      '    - shell: bash',
      '      env:',
      ...env,
      '      run: |',
      ...script.split('\n').map((line) => `        ${line}`),
      '',
    ].join('\n'),
  );
}

beforeAll(() => {
  standIns = tempDir('scdf-act-actions-');
  artifacts = tempDir('scdf-act-artifacts-');
  action(
    path.join(standIns, 'setup-python'),
    'setup-python',
    ['python-version'],
    [
      `if [[ $INPUT_PYTHON_VERSION != '${python.version}' ]]; then`,
      `  echo "setup-python stand-in: python-version '$INPUT_PYTHON_VERSION' is not the project's ${python.version}"; exit 1`,
      'fi',
      `echo '${python.bin}' >>"$GITHUB_PATH"`,
    ].join('\n'),
  );
  action(
    path.join(standIns, 'upload-artifact'),
    'upload-artifact',
    ['name', 'path', 'if-no-files-found'],
    [
      '[[ -n $INPUT_NAME ]] || { echo "upload-artifact stand-in: no name"; exit 1; }',
      // The template asks `if-no-files-found: ignore`: a run stopped before pytest keeps nothing.
      '[[ -f $INPUT_PATH ]] || { echo "upload-artifact stand-in: no $INPUT_PATH, nothing kept"; exit 0; }',
      `mkdir -p '${artifacts}'/"$INPUT_NAME" && cp "$INPUT_PATH" '${artifacts}'/"$INPUT_NAME"/`,
    ].join('\n'),
  );
});

async function act(project: string, pytest: string) {
  return run(
    tools.act,
    [
      'push',
      '--workflows',
      '.github/workflows/ci.yml',
      '--job',
      'test',
      '-P',
      'ubuntu-latest=-self-hosted',
      '--action-offline-mode',
      '--local-repository',
      `actions/setup-python@v6=${path.join(standIns, 'setup-python')}`,
      '--local-repository',
      `actions/upload-artifact@v4=${path.join(standIns, 'upload-artifact')}`,
      '--env',
      `PYTEST_ADDOPTS=${pytest}`,
    ],
    { cwd: project, timeoutMs: 900_000 },
  );
}

describe.each(CASES)('act runs the test job of a project with %s', (which) => {
  test('exit code, log and JUnit report', async () => {
    const project = projectFor('github', python.version, which);
    const junit = path.join(artifacts, 'junit', 'junit.xml');
    const result = await act(project, pytestOptions(which));
    const log = result.output;
    if (which === 'as generated') {
      if (result.status !== 0) throw new Error(`act failed (${String(result.status)}):\n${log}`);
      expect(log).toContain('conflict-markers: no conflict markers');
      expect(log).toMatch(/All checks passed!/);
      expect(log).toMatch(/Success: no issues found in \d+ source files/);
      expect(log).toMatch(/ \d+ passed in /);
      expect(log).toContain('🏁  Job succeeded');
      expect(junitCounts(readFileSync(junit, 'utf8'))).toMatchObject({ failures: 0 });
      expect(junitCounts(readFileSync(junit, 'utf8')).tests).toBeGreaterThan(100);
    } else if (which === 'a failing test') {
      expect({ status: result.status, log }).toMatchObject({ status: 1 });
      expect(log).toMatch(/FAILED tests\/test_python_task\.py::test_that_fails/);
      expect(log).toContain('Job failed');
      // The report is kept even though pytest failed.
      expect(junitCounts(readFileSync(junit, 'utf8'))).toEqual({ tests: 4, failures: 1 });
    } else {
      expect({ status: result.status, log }).toMatchObject({ status: 1 });
      expect(log).toContain('python_task.py:');
      expect(log).toContain('<<<<<<< yours');
      expect(log).toContain('conflict-markers: resolve each conflict');
      // Nothing after the check ran: no install, no pytest.
      expect(log).not.toContain('test session starts');
      expect(log).toContain('Job failed');
    }
    // Each case starts from an empty artifact folder.
    if (existsSync(junit)) writeFileSync(junit, '');
  }, 900_000);
});
