import { expect, test } from '@jest/globals';
import { chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runYo, tempDirForYo } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

// The work-around is in the install guide the README links to.
const README = readFileSync(path.join(REPO_ROOT, 'docs', 'install.md'), 'utf8');
const WORKAROUND = 'SUDO_UID=1000 SUDO_GID=1000 HOME=/tmp/yo-home yo scdf-task my-task --defaults';

test("yo as root: the README's work-around writes the project, owned by the user it names", () => {
  expect(README).toContain(`install -d -o 1000 -g 1000 /tmp/yo-home /srv/tasks`);
  expect(README).toContain(WORKAROUND);
  const isRoot = process.getuid?.() === 0;
  // Not root, yo switches to no one: the files are the caller's, as the README says of any user.
  const owner = isRoot
    ? { uid: 1000, gid: 1000 }
    : { uid: process.getuid?.(), gid: process.getgid?.() };
  const base = tempDirForYo('scdf-yo-root-');
  const home = path.join(base, 'yo-home');
  const work = path.join(base, 'tasks');
  for (const dir of [home, work]) {
    mkdirSync(dir);
    if (isRoot) chownSync(dir, 1000, 1000);
  }
  const result = runYo(['my-task', '--defaults'], work, {
    SUDO_UID: '1000',
    SUDO_GID: '1000',
    HOME: home,
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  for (const file of ['my-task', 'my-task/.yo-rc.json', 'my-task/python_task.py']) {
    const stat = statSync(path.join(work, file));
    expect({ file, uid: stat.uid, gid: stat.gid }).toEqual({ file, ...owner });
  }
});
