import { expect, test } from '@jest/globals';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DATABASES } from '../../core/validators.js';
import {
  changedPaths,
  committedProject,
  runBin,
  snapshotTree,
  templateVariant,
  tempDir,
} from '../support/cli.js';

const YOURS_LAST = '# a system package the team added\n';
const YOURS_FIRST = '# the team rewrote this line';
const THEIRS_FIRST = '# newer template: first line reworded';
const THEIRS_REQUIREMENTS = '# newer template: a line for requirements.txt\n';

/** The assorted edits of the fleet, one kind per project in turn. */
const EDITS = ['none', 'append-managed', 'edit-user', 'conflict', 'delete-both'] as const;
type Edit = (typeof EDITS)[number];

function edit(project: string, kind: Edit): void {
  const dockerfile = path.join(project, 'Dockerfile');
  if (kind === 'append-managed') appendFileSync(dockerfile, YOURS_LAST);
  if (kind === 'edit-user')
    writeFileSync(path.join(project, 'python_task.py'), 'print("our own task")\n');
  if (kind === 'conflict')
    writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace(/^[^\n]*/, YOURS_FIRST));
  if (kind === 'delete-both') {
    rmSync(path.join(project, 'tests/test_python_task.py'));
    rmSync(path.join(project, 'util/testing.py'));
  }
}

test('20 repositories updated by a newer template version: every edit kept, every conflict reported, nothing outside touched', () => {
  const fleet = tempDir('scdf-fleet-update-');
  writeFileSync(path.join(fleet, 'outside.txt'), 'not a project\n');
  const projects: { dir: string; kind: Edit }[] = [];
  for (let i = 0; i < 20; i += 1) {
    const database = DATABASES[i % DATABASES.length] ?? 'mariadb';
    // The repositories sit side by side, as a CI job clones them.
    const dir = committedProject(
      `task-${i}`,
      ['--database', database, '--image-tag', `1.${i}.0`],
      fleet,
    );
    const kind = EDITS[i % EDITS.length] ?? 'none';
    edit(dir, kind);
    projects.push({ dir, kind });
  }
  const newer = templateVariant((dir) => {
    const dockerfile = path.join(dir, 'managed', 'Dockerfile');
    writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace(/^[^\n]*/, THEIRS_FIRST));
    appendFileSync(path.join(dir, 'user', 'requirements.txt'), THEIRS_REQUIREMENTS);
    writeFileSync(path.join(dir, 'managed', 'util', 'fleet_helper.py'), 'HELPER = 1\n');
    rmSync(path.join(dir, 'managed', 'scdf', 'cleanup.shell'));
  });
  const outsideBefore = snapshotTree(fleet);
  const isProject = (p: string) => /^task-\d+\//.test(p) || /^task-\d+\/$/.test(p);
  const outside = (tree: Record<string, string>) =>
    Object.fromEntries(Object.entries(tree).filter(([p]) => !isProject(p)));

  const list = `${projects.map((p) => p.dir).join('\n')}\n`;
  const env = { SCDF_TASK_TEMPLATES: newer };
  const check = runBin(['--check', '--stdin'], fleet, { input: list, env });
  expect(check.stderr).toBe('');
  expect(check.status).toBe(3);
  expect(snapshotTree(fleet)).toEqual(outsideBefore);

  const result = runBin(['--update', '--stdin'], fleet, { input: list, env });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(3);
  const lines = result.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(21);
  expect(lines[20]).toBe('20 projects: 16 done, 4 with conflicts, 0 failed; exit 3');

  expect(lines.filter((l) => l.includes(': conflict: ')).length).toBe(4);
  for (const [index, { dir, kind }] of projects.entries()) {
    const line = lines[index] ?? '';
    expect(line.startsWith(`${dir}: `)).toBe(true);
    const dockerfile = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    const expected = [
      ' M .yo-rc.json',
      ' M docs/files.md',
      ' D scdf/cleanup.shell',
      '?? util/fleet_helper.py',
    ];
    if (kind === 'conflict') {
      expect(line).toContain('conflict: Dockerfile');
      expect(dockerfile).toContain(`<<<<<<< yours\n${YOURS_FIRST}\n`);
      expect(dockerfile).toContain(`=======\n${THEIRS_FIRST}\n>>>>>>> `);
    } else {
      expect(line).not.toContain('conflict');
      expect(dockerfile.split('\n')[0]).toBe(THEIRS_FIRST);
    }
    expect(dockerfile.endsWith(kind === 'append-managed' ? YOURS_LAST : '\n')).toBe(true);
    expected.push(' M Dockerfile');
    const requirements = readFileSync(path.join(dir, 'requirements.txt'), 'utf8');
    expect(requirements.endsWith(THEIRS_REQUIREMENTS)).toBe(true);
    expected.push(' M requirements.txt');
    if (kind === 'edit-user') {
      expect(readFileSync(path.join(dir, 'python_task.py'), 'utf8')).toBe(
        'print("our own task")\n',
      );
      expected.push(' M python_task.py');
    }
    if (kind === 'delete-both') {
      expect(existsSync(path.join(dir, 'tests/test_python_task.py'))).toBe(false);
      expect(existsSync(path.join(dir, 'util/testing.py'))).toBe(true);
      expected.push(' D tests/test_python_task.py');
    }
    expect(changedPaths(dir)).toEqual([...new Set(expected)].sort());
  }
  expect(outside(snapshotTree(fleet))).toEqual(outside(outsideBefore));
});
