/**
 * The repository's README stays short enough to read first, and every relative link among it,
 * CONTRIBUTING.md and docs/ reaches a file, and a heading of that file when it names one.
 */
import { expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths.js';

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return [...text.matchAll(/^#+ (.*)$/gm)].map(([, heading = '']) => anchor(heading));
}

test('the README is under 300 lines', () => {
  const lines = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').split('\n').length;
  expect(lines).toBeLessThan(300);
});

test.each(DOCS)('every relative link in %s reaches its file and heading', (doc) => {
  // Code is not prose: a regular expression in it is no link.
  const text = readFileSync(path.join(REPO_ROOT, doc), 'utf8')
    .replace(/^```[\s\S]*?^```$/gm, '')
    .replace(/`[^`\n]*`/g, '');
  const broken: string[] = [];
  for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [file = '', hash] = target.split('#');
    const resolved =
      file === '' ? path.join(REPO_ROOT, doc) : path.join(REPO_ROOT, path.dirname(doc), file);
    if (!existsSync(resolved)) broken.push(`${target}: no such file`);
    // Anchors into EJS templates are checked by the generated README's own test.
    else if (hash !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).includes(hash))
      broken.push(`${target}: no such heading`);
  }
  expect(broken).toEqual([]);
});
