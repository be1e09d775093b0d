import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { generateProject } from '../support/cli.js';

/**
 * `python -m util.local_run` in a generated project runs the task as the project's SCDF launches
 * do: the project's task name, and for a Boot 3 project the BOOT3_ tables. It runs on the
 * machine's python3 alone (SQLite is in the standard library), so no venv is needed.
 */
function localRun(project: string, args: readonly string[]) {
  const result = spawnSync('python3', ['-m', 'util.local_run', ...args], {
    cwd: project,
    encoding: 'utf8',
    // A stray SCDF setting in the caller's environment must not leak into the task.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The rows of one table of the SQLite file, read with Python's sqlite3 (no sqlite3 CLI needed). */
function rows(db: string, query: string): unknown[] {
  const result = spawnSync(
    'python3',
    [
      '-c',
      'import json, sqlite3, sys; ' +
        'print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))',
      db,
      query,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`sqlite3 query failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as unknown[];
}

function tables(db: string): string[] {
  return (
    rows(
      db,
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ) as [string][]
  ).map(([name]) => name);
}

describe('util.local_run runs as the project is registered', () => {
  test('--task-name maria-task --boot-version 3: its name, BOOT3_TASK_EXECUTION', () => {
    const project = generateProject('maria-task', ['--boot-version', '3']);
    const db = path.join(project, 'local-scdf.db');

    const run = localRun(project, ['--work.seconds=0']);

    expect(run).toMatchObject({ status: 0 });
    expect(run.stdout).toContain('Python task maria-task started: execution 1\n');
    expect(run.stdout).toContain('Task execution 1 (maria-task): COMPLETE\n');
    expect(run.stdout).toContain('  table:         BOOT3_TASK_EXECUTION\n');
    expect(
      rows(db, 'SELECT TASK_EXECUTION_ID, TASK_NAME, EXIT_CODE FROM BOOT3_TASK_EXECUTION'),
    ).toEqual([[1, 'maria-task', 0]]);
    expect(tables(db).filter((name) => !name.startsWith('BOOT3_'))).toEqual([]);

    const scheduled = localRun(project, ['--scheduled', '--work.seconds=0']);
    expect(scheduled).toMatchObject({ status: 0 });
    expect(
      rows(db, 'SELECT TASK_EXECUTION_ID, TASK_NAME, EXIT_CODE FROM BOOT3_TASK_EXECUTION'),
    ).toEqual([
      [1, 'maria-task', 0],
      [2, 'maria-task', 0],
    ]);
  });

  test('a Boot 2 project: its name, TASK_EXECUTION', () => {
    const project = generateProject('nightly-etl');
    const db = path.join(project, 'local-scdf.db');

    const run = localRun(project, ['--work.seconds=0']);

    expect(run).toMatchObject({ status: 0 });
    expect(run.stdout).toContain('Task execution 1 (nightly-etl): COMPLETE\n');
    expect(rows(db, 'SELECT TASK_EXECUTION_ID, TASK_NAME, EXIT_CODE FROM TASK_EXECUTION')).toEqual([
      [1, 'nightly-etl', 0],
    ]);
    expect(tables(db).filter((name) => name.startsWith('BOOT3_'))).toEqual([]);
  });
});
