import { expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { planProject } from '../../core/project-files.js';
import { REPO_ROOT } from '../support/paths.js';

function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, body = '']) =>
    body.split('\n').filter((line) => line.trim() !== ''),
  );
}

test('the README leads with what works before the packages are published', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const [first = []] = shellBlocks(readme);
  expect(first).toEqual([
    'npm ci && npm run build',
    expect.stringMatching(/^npm link +#/),
    'create-scdf-task my-task --database postgresql --docker-prefix ghcr.io/acme',
    expect.stringMatching(/^yo scdf-task my-task +#/),
  ]);
  const beforeFirstBlock = readme.slice(0, readme.indexOf('```sh'));
  expect(beforeFirstBlock).toContain('The packages are not on the npm registry yet');
});

test('the generated README updates with the installed command; npx @latest only once published', () => {
  const readme =
    planProject(withDefaults({})).find((file) => file.path === 'README.md')?.content ?? '';
  const commands = shellBlocks(readme).flat();
  expect(commands).toContain(
    "create-scdf-task --check               # write nothing: diffs and each file's state",
  );
  // npx appears only in comments, as what works once the package is published.
  expect(commands.filter((line) => /\bnpx\b/.test(line) && !line.startsWith('#'))).toEqual([]);
  expect(readme).toContain('once the package is published on npm');
});
