#!/usr/bin/env node
/**
 * Fails when a file git tracks (or is about to commit) is over 1 MB, lock files excepted: a
 * stray download committed once stays in every clone's history forever.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import path from 'node:path';

const LIMIT = 1_000_000;
// Lock files grow with the dependency tree and are reviewed as text; nothing else may be this big.
const ALLOWED = [/(^|\/)package-lock\.json$/, /^templates\/locks\/[^/]+\.txt$/];

const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const tracked = execFileSync('git', ['ls-files', '-z', '--cached'], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
})
  .split('\0')
  .filter((file) => file !== '');

const big = [];
for (const file of tracked) {
  if (ALLOWED.some((pattern) => pattern.test(file))) continue;
  let size;
  try {
    size = lstatSync(path.join(root, file)).size;
  } catch {
    continue; // deleted in the work tree: it will not be committed as it is
  }
  if (size > LIMIT) big.push(`${file} (${(size / 1e6).toFixed(1)} MB)`);
}
if (big.length > 0) {
  process.stderr.write(
    `check-file-sizes: over 1 MB and not a lock file: ${big.join(', ')}; ` +
      'remove it from git (git rm --cached) and keep it out with .gitignore\n',
  );
  process.exitCode = 1;
}
