import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  // The same module runs from core/ (tests) and lib/core/ (published).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'templates'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('generator-scdf-task: templates/ folder not found');
    dir = parent;
  }
  return dir;
}

/** The installed package: its templates and its version, the one every run writes. */
export const PACKAGE_ROOT = findPackageRoot();
export const TEMPLATES_ROOT = path.join(PACKAGE_ROOT, 'templates');

export const GENERATOR_VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
