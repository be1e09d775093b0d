/**
 * The generated .gitlab-ci.yml's test job, run by gitlab-ci-local (on Node 22) with its shell
 * executor on this machine: it passes on a generated project, and fails on one with a failing
 * test and on one with conflict markers. The job's image is not used: python3 on PATH is the
 * Python the project was generated for.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CASES, junitCounts, projectFor, pytestOptions } from './projects.js';
import { ciTools, hostPython, run } from './tools.js';

const tools = ciTools();
const python = hostPython();

describe.each(CASES)('gitlab-ci-local runs the test job of a project with %s', (which) => {
  test('exit code, log and JUnit report', async () => {
    const project = projectFor('gitlab', python.version, which);
    const result = await run(
      tools.gitlabCiLocal,
      ['--force-shell-executor', '--variable', `PYTEST_ADDOPTS=${pytestOptions(which)}`, 'test'],
      {
        cwd: project,
        env: {
          ...process.env,
          PATH: [tools.node22Path, python.bin, process.env.PATH ?? ''].join(path.delimiter),
        },
        timeoutMs: 900_000,
      },
    );
    const log = result.output;
    const junit = () => junitCounts(readFileSync(path.join(project, 'reports/junit.xml'), 'utf8'));
    if (which === 'as generated') {
      if (result.status !== 0)
        throw new Error(`gitlab-ci-local failed (${String(result.status)}):\n${log}`);
      expect(log).toContain('conflict-markers: no conflict markers');
      expect(log).toMatch(/All checks passed!/);
      expect(log).toMatch(/Success: no issues found in \d+ source files/);
      expect(log).toMatch(/ \d+ passed in /);
      expect(log).toMatch(/PASS +test/);
      expect(junit().failures).toBe(0);
      expect(junit().tests).toBeGreaterThan(100);
    } else if (which === 'a failing test') {
      expect({ status: result.status, log }).toMatchObject({ status: 1 });
      expect(log).toMatch(/FAILED tests\/test_python_task\.py::test_that_fails/);
      expect(log).toMatch(/FAIL +test/);
      expect(junit()).toEqual({ tests: 4, failures: 1 });
    } else {
      expect({ status: result.status, log }).toMatchObject({ status: 1 });
      expect(log).toContain('<<<<<<< yours');
      expect(log).toContain('conflict-markers: resolve each conflict');
      expect(log).not.toContain('test session starts');
      expect(log).toMatch(/FAIL +test/);
    }
  }, 900_000);
});
