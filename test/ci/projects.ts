import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commitAll, committedProject } from '../support/cli.js';

/**
 * The three projects each CI system's test job is run on: as generated (passes), with a failing
 * test of the user's, and with the conflict markers a template update leaves.
 */
export const CASES = ['as generated', 'a failing test', 'conflict markers'] as const;
export type Case = (typeof CASES)[number];

const FAILING_TEST = `

def test_that_fails() -> None:
    assert sum([1, 1]) == 3
`;

export function projectFor(ci: 'github' | 'gitlab', pythonVersion: string, which: Case): string {
  const project = committedProject('orders-etl', [
    '--defaults',
    '--ci',
    ci,
    '--python-version',
    pythonVersion,
  ]);
  if (which === 'a failing test')
    appendFileSync(path.join(project, 'tests/test_python_task.py'), FAILING_TEST);
  if (which === 'conflict markers') {
    const file = path.join(project, 'python_task.py');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}<<<<<<< yours\nMINE = 1\n=======\nTHEIRS = 2\n>>>>>>> generator-scdf-task 9.9.9 (template)\n`,
    );
  }
  if (which !== 'as generated') commitAll(project, which);
  return project;
}

/** `tests`/`failures` of the JUnit report pytest wrote. */
export function junitCounts(xml: string): { tests: number; failures: number } {
  const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? '';
  const attribute = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1]);
  return { tests: attribute('tests'), failures: attribute('failures') };
}

/**
 * The pipelines' pytest runs the whole suite where the project is as generated; with a failing
 * test of the user's, only the tests of tests/test_python_task.py (the utilities' tests already
 * passed in the first case), which keeps the added time small. The pipeline's own command is
 * unchanged: pytest reads PYTEST_ADDOPTS from the environment.
 */
export function pytestOptions(which: Case): string {
  return which === 'a failing test' ? '-k test_python_task' : '';
}
