import { expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN } from '../support/paths.js';
import { tempDir } from '../support/cli.js';

/**
 * A real terminal: util-linux `script` gives the bin a pseudo-terminal, and the test types into it
 * as a person would. This is the one place inquirer's own validate/re-ask loop is exercised.
 */
test('in a terminal, a bad answer is re-asked with the rule, then the project is written', async () => {
  const cwd = tempDir();
  const child = spawn('script', ['-qfec', `${process.execPath} ${BIN}`, '/dev/null'], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = async (pattern: RegExp): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(screen)) {
      if (Date.now() > deadline) throw new Error(`no ${String(pattern)} on screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  await waitFor(/Task name/);
  child.stdin.write('Bad Name\r');
  await waitFor(/use lower-case letters, digits and "-"/);
  child.stdin.write(`${'\x7f'.repeat('Bad Name'.length)}tty-task\r`);
  for (const prompt of [/Database SCDF runs on/, /Docker prefix/, /Image tag/, /Python version/]) {
    await waitFor(prompt);
    child.stdin.write('\r');
  }
  await waitFor(/Boot version/);
  child.stdin.write('\r');
  await waitFor(/CI system/);
  child.stdin.write('\r');

  expect(await closed).toBe(0);
  const rc = JSON.parse(readFileSync(path.join(cwd, 'tty-task', '.yo-rc.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
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
