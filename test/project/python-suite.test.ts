/**
 * A generated project's own Python suite, for every database, as a user would run it: generate
 * with the published bin into an empty folder with the defaults (the image on the newest
 * Python), make a fresh venv with the local python3, whatever its version,
 * install the lock requirements-scdf.txt with --require-hashes and then requirements-dev.txt from
 * PyPI, then the driver must import, `ruff check .`, `ruff format --check .` and `mypy --strict`
 * (the whole project, as its pyproject.toml configures it) must pass; a plain `pytest` must run
 * the sample's tests and the utilities' smoke alone, in seconds, and `pytest tests/scdf` every
 * test file of the utilities; `python python_task.py` alone must point to `util.local_run`, which
 * must report the sample's executions as SCDF would show them. The image's file set (what
 * `COPY . .` sends) must be enough for the entry point: every module in it imports there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASE_PROFILES } from '../../core/databases.js';
import { DATABASES } from '../../core/validators.js';
import { generateProject, git } from '../support/cli.js';
import { createProjectVenv } from '../support/venv.js';
import { simulateImage } from './fixture.js';

// pip install (Db2's driver alone is a large wheel) plus the project's suite.
const PER_DATABASE_MS = 900_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Run {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // A stray SCDF setting in the caller's environment must not leak into the task.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' },
    timeout: 600_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Fails with the run's output when its exit status is not the one expected. */
function expectStatus(result: Run, status: number): void {
  if (result.status !== status) {
    throw new Error(
      `exit ${String(result.status)}, expected ${String(status)}\n--- stdout (end)\n` +
        `${result.stdout.slice(-4000)}\n--- stderr (end)\n${result.stderr.slice(-4000)}`,
    );
  }
}

describe.each(DATABASES)('generated project for %s', (database) => {
  const profile = DATABASE_PROFILES[database];

  test(
    'installs, imports its driver, passes ruff, mypy --strict and its own tests, and runs locally',
    () => {
      // The default Python version, not the local one: the universal lock must install on any
      // supported python3, as a developer's laptop rarely has the image's.
      const project = generateProject('my-task', ['--database', database]);
      const bin = createProjectVenv(project);
      const python = path.join(bin, 'python');

      const driver = run(python, ['-c', `import ${profile.driverModule}`], project);
      expectStatus(driver, 0);

      expectStatus(run(path.join(bin, 'ruff'), ['check', '.'], project), 0);
      expectStatus(run(path.join(bin, 'ruff'), ['format', '--check', '.'], project), 0);
      // The whole project, tests included, as pyproject.toml's [tool.mypy] sets it (`files`);
      // `--strict` given as well, so a weakened config cannot pass.
      const mypy = run(path.join(bin, 'mypy'), ['--strict', '--no-incremental'], project);
      // Compared with its output, so a failure shows each finding.
      expect({ status: mypy.status, stdout: mypy.stdout }).toEqual({
        status: 0,
        stdout: expect.stringMatching(/^Success: no issues found in \d+ source files$/m),
      });

      // A plain `pytest`: the user's tests and the utilities' smoke, in seconds.
      const pytestBin = path.join(bin, 'pytest');
      const collected = run(pytestBin, ['--collect-only', '-q', '-p', 'no:cacheprovider'], project);
      expectStatus(collected, 0);
      const ids = collected.stdout.split('\n').filter((line) => line.includes('::'));
      expect([...new Set(ids.map((id) => id.split('::')[0]))].sort()).toEqual([
        'tests/scdf/test_smoke.py',
        'tests/test_python_task.py',
      ]);
      const quickStart = Date.now();
      const quick = run(pytestBin, ['-q', '-p', 'no:cacheprovider'], project);
      const quickMs = Date.now() - quickStart;
      expectStatus(quick, 0);
      // The sample's 3 tests and the 6 of test_smoke.py, nothing skipped.
      expect(quick.stdout).toMatch(/^9 passed in [\d.]+s/m);
      // About 3 s on an idle machine (the whole suite takes 50-70 s); the bound leaves room for
      // a loaded CI machine and is checked against the full run's time too, below.
      expect(quickMs).toBeLessThan(20_000);

      // The utilities' whole suite, the one command the README gives: every file in tests/scdf.
      const fullStart = Date.now();
      const full = run(pytestBin, ['tests/scdf', '-v', '-p', 'no:cacheprovider'], project);
      const fullMs = Date.now() - fullStart;
      expectStatus(full, 0);
      const summary = /\b(\d+) passed(?:, (\d+) skipped)? in [\d.]+s/.exec(full.stdout);
      expect(summary).not.toBeNull();
      expect(Number(summary?.[1])).toBeGreaterThanOrEqual(170);
      const ran = new Set(
        [...full.stdout.matchAll(/^(tests\/scdf\/[^:\s]+)::.* (?:PASSED|SKIPPED)\b/gm)].map(
          (m) => m[1],
        ),
      );
      const testFiles = readdirSync(path.join(project, 'tests/scdf'))
        .filter((file) => /^test_.*\.py$/.test(file))
        .map((file) => `tests/scdf/${file}`);
      expect([...ran].sort()).toEqual(testFiles.sort());
      expect(quickMs * 4).toBeLessThan(fullMs);
      // CI runs as root, where the PID 1 test must run too. The one test allowed to skip needs
      // `unshare --pid` (root, or user namespaces) to run the task as PID 1.
      if (process.env.CI === 'true') expect(summary?.[2]).toBeUndefined();
      if (summary?.[2] !== undefined) {
        expect(summary[2]).toBe('1');
        expect(full.stdout).toContain('needs `unshare --pid`');
      }

      // Started by hand, the task says how to run it locally instead.
      const alone = run(python, ['python_task.py'], project);
      expect(alone).toMatchObject({ status: 1, stdout: '' });
      expect(alone.stderr).toMatch(
        /^\S+ \S+ ERROR [\w.]+: Task not started: spring\.datasource\.url is not set: SCDF passes it at every launch \(to run the task locally: `python -m util\.local_run`\)\n$/,
      );
      for (const flag of ['--help', '-h']) {
        const usage = run(python, ['python_task.py', flag], project);
        expect(usage).toMatchObject({ status: 0, stderr: '' });
        expect(usage.stdout).toMatch(/^usage: python -m util\.local_run \[task arguments\]\n/);
        expect(usage.stdout).toContain('`python -m util.local_run --help` lists its options');
      }

      const help = run(python, ['-m', 'util.local_run', '--help'], project);
      expect(help).toMatchObject({ status: 0, stderr: '' });
      expect(help.stdout).toMatch(
        /^usage: python -m util\.local_run \[--db PATH\] \[--scheduled\]/,
      );
      expect(existsSync(path.join(project, 'local-scdf.db'))).toBe(false);

      const completed = run(python, ['-m', 'util.local_run', '--work.seconds=0'], project);
      expectStatus(completed, 0);
      expect(completed.stdout).toContain(
        `SCDF's database stood in for by ${path.join(project, 'local-scdf.db')}\n`,
      );
      expect(completed.stdout).toContain('Task execution 1 (my-task): COMPLETE\n');
      expect(completed.stdout).toContain('  exit code:     0\n');
      expect(completed.stdout).toContain('  error message: (null)\n');

      const failed = run(
        python,
        ['-m', 'util.local_run', '--work.seconds=0', '--error.message=boom'],
        project,
      );
      expect(failed).toMatchObject({ status: 1 });
      // The SQLite file stays between runs, as SCDF's database does: the second run is 2.
      expect(failed.stdout).toContain('Task execution 2 (my-task): ERROR\n');
      expect(failed.stdout).toContain('  exit code:     1\n');
      expect(failed.stdout).toContain('  exit message:  (null)\n');
      expect(failed.stdout).toMatch(/^ +RuntimeError: boom$/m);
      // The file stays in the project, out of git and out of the image.
      git(project, 'init', '--quiet');
      expect(git(project, 'status', '--porcelain', '--ignored', '--', 'local-scdf.db')).toBe(
        '!! local-scdf.db\n',
      );

      // Only what the image gets: each of its modules imports with nothing else on the path, so
      // none needs a development-only one (test/project/entrypoint.test.ts runs the entry point
      // from that file set).
      const image = simulateImage(project);
      const app = image.hostPath('/app');
      const modules = image.copied
        .filter((file) => file.endsWith('.py'))
        .map((file) => path.posix.relative('/app', file).replace(/\.py$/, '').replace(/\//g, '.'))
        .map((module) => module.replace(/\.__init__$/, ''));
      expect(modules).toContain('python_task');
      expect(image.copied).not.toContain('/app/local-scdf.db');
      const imports = run(
        python,
        ['-E', '-s', '-c', `import ${modules.join(', ')}; print("imported")`],
        app,
      );
      expect(imports).toMatchObject({ status: 0, stdout: 'imported\n' });
    },
    PER_DATABASE_MS,
  );
});
