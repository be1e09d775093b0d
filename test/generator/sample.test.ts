import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { GENERATOR_VERSION, planProject } from '../../core/project-files.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * `npm run sample` exactly as package.json has it, minus its build (Jest's global setup built lib/
 * already, and rebuilding it would pull it from under the tests running beside this one), in a
 * folder of its own whose lib/ is the checkout's.
 */
function runSample(cwd: string) {
  const scripts = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const [build, ...rest] = (scripts.sample ?? '').split(' && ');
  expect(build).toBe('npm run build');
  const result = spawnSync('sh', ['-c', rest.join(' && ')], { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('npm run sample can run again: the second run updates out/python-task in place, keeping edits', () => {
  const checkout = tempDir('scdf-sample-');
  symlinkSync(path.join(REPO_ROOT, 'lib'), path.join(checkout, 'lib'));
  const sample = path.join(checkout, 'out', 'python-task');

  const first = runSample(checkout);
  expect(first.output).toMatch(new RegExp(`^Generated ${sample} \\(generator-scdf-task `));
  expect(first.status).toBe(0);

  appendFileSync(path.join(sample, 'python_task.py'), '# tried something\n');
  const again = runSample(checkout);
  const others = planProject(withDefaults({})).length - 1;
  expect(again.output).toBe(
    `Updated ${sample} (generator-scdf-task ${GENERATOR_VERSION})\n` +
      `unchanged: ${others}\nkept (edited by you): 1 (python_task.py)\n`,
  );
  expect(again.status).toBe(0);
  expect(readFileSync(path.join(sample, 'python_task.py'), 'utf8')).toMatch(/# tried something\n$/);
});
