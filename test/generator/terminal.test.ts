import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { BIN, REPO_ROOT } from '../support/paths.js';
import { snapshotTree, tempDirForYo } from '../support/cli.js';

/**
 * A real terminal: util-linux `script` gives the front end a pseudo-terminal, and the test types
 * into it as a person would, through the real `yo scdf-task` and the `create-scdf-task` bin. This
 * is where inquirer's own validate/re-ask loop and Ctrl-C at a prompt are exercised.
 */
type FrontEnd = 'yo' | 'bin';

let yoModules: string | undefined;

/** The command line and environment that start a front end, yo finding this checkout as installed. */
function command(frontEnd: FrontEnd): { line: string; env: NodeJS.ProcessEnv } {
  if (frontEnd === 'bin') return { line: `${process.execPath} ${BIN}`, env: {} };
  if (yoModules === undefined) {
    yoModules = path.join(tempDirForYo('scdf-yo-modules-'), 'node_modules');
    mkdirSync(yoModules);
    symlinkSync(REPO_ROOT, path.join(yoModules, 'generator-scdf-task'));
  }
  return {
    line: `${path.join(REPO_ROOT, 'node_modules/.bin/yo')} scdf-task`,
    env: { NODE_PATH: yoModules, HOME: tempDirForYo('scdf-yo-home-'), NO_UPDATE_NOTIFIER: '1' },
  };
}

interface Session {
  waitFor(pattern: RegExp): Promise<void>;
  type(keys: string): void;
  readonly closed: Promise<number | null>;
  screen(): string;
}

/** Sessions still running when a test ends (it failed): stopped, so Jest can exit. */
const running = new Set<number>();

afterEach(() => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Ended between the test's end and now.
    }
  }
  running.clear();
});

function startInTerminal(frontEnd: FrontEnd, cwd: string): Session {
  const { line, env } = command(frontEnd);
  const child = spawn('script', ['-qfec', line, '/dev/null'], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
    // A group of its own, to be stopped whole if the test fails.
    detached: true,
  });
  const pid = child.pid;
  if (pid !== undefined) running.add(pid);
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (pid !== undefined) running.delete(pid);
      resolve(code);
    }),
  );
  return {
    async waitFor(pattern) {
      // yo looks up every installed generator first: seconds on a loaded machine.
      const deadline = Date.now() + 60_000;
      while (!pattern.test(screen)) {
        if (Date.now() > deadline) throw new Error(`no ${String(pattern)} on screen:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    type(keys) {
      child.stdin.write(keys);
    },
    closed,
    screen: () => screen,
  };
}

describe.each(['bin', 'yo'] as const)('%s in a terminal', (frontEnd) => {
  test('a bad answer is re-asked with the rule and cleared; the next one is typed afresh', async () => {
    const cwd = tempDirForYo();
    const session = startInTerminal(frontEnd, cwd);

    await session.waitFor(/Task name/);
    session.type('Bad Name\r');
    await session.waitFor(/use lower-case letters, digits and "-"/);
    // No erasing: had the refused text stayed, the answer would be "Bad Nametty-task".
    session.type('tty-task\r');
    for (const prompt of [
      /Database SCDF runs on/,
      /Docker prefix/,
      /Image tag/,
      /Python version/,
    ]) {
      await session.waitFor(prompt);
      session.type('\r');
    }
    await session.waitFor(/Boot version/);
    session.type('\r');
    await session.waitFor(/CI system/);
    session.type('\r');

    expect(await session.closed).toBe(0);
    const rc = JSON.parse(
      readFileSync(path.join(cwd, 'tty-task', '.yo-rc.json'), 'utf8'),
    ) as Record<string, Record<string, unknown>>;
    expect(rc['generator-scdf-task']).toMatchObject({
      taskName: 'tty-task',
      database: 'mariadb',
      dockerPrefix: 'localhost:5000',
      imageTag: '0.1.0',
      pythonVersion: '3.14',
      bootVersion: '2',
      ci: 'github',
    });
  });

  test.each([
    ['the first prompt', []],
    ['a later prompt', ['my-task\r']],
  ])('Ctrl-C at %s exits 130 and writes nothing', async (_, answers) => {
    const cwd = tempDirForYo();
    const session = startInTerminal(frontEnd, cwd);
    await session.waitFor(/Task name/);
    for (const answer of answers) session.type(answer);
    if (answers.length > 0) await session.waitFor(/Database SCDF runs on/);
    session.type('\x03');

    expect(await session.closed).toBe(130);
    expect(session.screen()).not.toMatch(/User force closed/);
    expect(snapshotTree(cwd)).toEqual({});
  });
});
